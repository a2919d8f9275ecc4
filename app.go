// Command stratolab is the CDK app: `npx cdk synth --all -c instance=NAME`.
//
// It reads the instance name from CDK context, loads instance/default.yaml merged with
// instance/NAME.yaml, builds that instance's stacks and synthesizes them. On a configuration problem
// it prints every problem to stderr and exits 1 before anything is synthesized.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/instance"
	"github.com/stratolab/stratolab/internal/safebuild"
	"github.com/stratolab/stratolab/stacks"
)

// defaultInstanceDir holds default.yaml and one NAME.yaml per instance, relative to the project root
// (where the CLI runs the app). `-c instance_dir=DIR` reads them from elsewhere (make bench does).
const defaultInstanceDir = "instance"

func main() {
	app := awscdk.NewApp(nil)
	name, _ := app.Node().TryGetContext(jsii.String("instance")).(string)
	dir, _ := app.Node().TryGetContext(jsii.String("instance_dir")).(string)
	if dir == "" {
		dir = defaultInstanceDir
	}
	cfg, err := instance.Load(dir, name)
	if err != nil {
		var problems instance.Problems
		if errors.As(err, &problems) {
			fmt.Fprintf(os.Stderr, "stratolab: instance %s has %d configuration problem(s); nothing was synthesized:\n%v\n", name, len(problems), err)
		} else {
			fmt.Fprintf(os.Stderr, "stratolab: %v\n", err)
		}
		jsii.Close()
		os.Exit(1)
	}
	if err := safebuild.Run(func() { stacks.Build(app, cfg) }); err != nil {
		var internal safebuild.Internal
		if errors.As(err, &internal) {
			fmt.Fprintf(os.Stderr, "stratolab: internal error while building instance %s; nothing was synthesized.\n"+
				"The configuration passed every check but a construct failed on it: that is a bug in stratolab. Please report it\n"+
				"with the instance file and this message:\n%v\n", name, err)
		} else {
			fmt.Fprintf(os.Stderr, "stratolab: instance %s cannot be built; nothing was synthesized:\n%v\n", name, err)
		}
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
	jsii.Close()
}
