// Command jobfleets is the Lambda behind jobrunner's Custom::JobFleetsDrain resource. Create and Update
// do nothing; Delete (cdk destroy, before CloudFormation deletes the worker fleets) sets each fleet to 0
// and lifts the scale-in protection its busy workers set, until the fleets are empty (internal/fleetdrain).
//
// It logs progress lines only, never the event or its response URL.
package main

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/stratolab/stratolab/internal/fleetdrain"
)

// reserve is kept back from the Lambda's deadline to answer CloudFormation (without an answer the
// stack waits an hour).
const reserve = 30 * time.Second

// PhysicalID is the resource's physical ID.
const PhysicalID = "job-fleets-drain"

func main() { lambda.Start(cfn.LambdaWrap(handle)) }

func handle(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
	log.Printf("%s of %s", ev.RequestType, ev.LogicalResourceID)
	if ev.RequestType != cfn.RequestDelete {
		return PhysicalID, nil, nil
	}
	groups, err := Groups(ev.ResourceProperties)
	if err != nil {
		// Nothing to drain can be named: let the delete go on rather than block the stack.
		log.Printf("%v: nothing to drain", err)
		return ev.PhysicalResourceID, nil, nil
	}
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-reserve))
		defer cancel()
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return ev.PhysicalResourceID, nil, fmt.Errorf("jobfleets: load AWS config: %w", err)
	}
	if err := fleetdrain.Drain(ctx, autoscaling.NewFromConfig(cfg), groups, 10*time.Second); err != nil {
		// CloudFormation's own delete of the fleets waits again; report, do not fail the stack's delete here.
		log.Printf("jobfleets: %v", err)
	}
	return ev.PhysicalResourceID, nil, nil
}

// Groups reads the FleetNames property: the fleets' names, comma-separated.
func Groups(props map[string]any) ([]string, error) {
	s, _ := props["FleetNames"].(string)
	var out []string
	for _, g := range strings.Split(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("FleetNames is empty")
	}
	return out, nil
}
