// Command emptyapp is the floor for `make bench`: a Go CDK app with one empty stack, synthesized by the
// same CLI with the same cdk.json flags as stratolab itself.
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	awscdk.NewStack(app, jsii.String("Empty"), nil)
	app.Synth(nil)
}
