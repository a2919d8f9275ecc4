// Command hubops is the Lambda behind the hub's operations custom resource. Create and Update copy
// the hub's Cognito app client secret into its Kubernetes Secret; Delete tears down what the
// cluster's controllers made outside CloudFormation. The logic is in internal/hubops; this file
// parses the event, builds the clients and reports to CloudFormation through cfn.LambdaWrap.
//
// It logs progress lines only: never the event, its properties or its response URL.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stratolab/stratolab/internal/hubops"
	"github.com/stratolab/stratolab/internal/kube"
)

// reserve is kept back from the Lambda's deadline, so that a wait that runs out still leaves time
// to send CloudFormation its answer (without one, the stack waits an hour).
const reserve = 30 * time.Second

func main() {
	lambda.Start(cfn.LambdaWrap(handle))
}

func handle(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
	log.Printf("%s of %s (physical ID %q)", ev.RequestType, ev.LogicalResourceID, ev.PhysicalResourceID)
	if ev.ResourceType == hubops.NodegroupSizeType {
		return handleSize(ctx, ev)
	}
	if ev.RequestType == cfn.RequestDelete && !hubops.IsPhysicalID(ev.PhysicalResourceID) {
		// A failed Create leaves the request ID as physical ID: nothing was made, so nothing to undo.
		log.Printf("physical ID is not one this function returns: nothing to tear down")
		return ev.PhysicalResourceID, nil, nil
	}
	p, err := hubops.ParseProps(ev.ResourceProperties)
	if err != nil {
		return failedID(ev), nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-reserve))
		defer cancel()
	}
	d, err := deps(ctx, p)
	if err != nil {
		return failedID(ev), nil, err
	}
	switch ev.RequestType {
	case cfn.RequestCreate, cfn.RequestUpdate:
		if err := hubops.SyncClientSecret(ctx, d, p); err != nil {
			return failedID(ev), nil, err
		}
		return hubops.PhysicalID(p), nil, nil
	case cfn.RequestDelete:
		return ev.PhysicalResourceID, nil, hubops.Teardown(ctx, d, p)
	default:
		return failedID(ev), nil, fmt.Errorf("hubops: unknown request type %q", ev.RequestType)
	}
}

// handleSize answers a node group size resource with the group's desired size; its Delete does
// nothing (the node group goes with its own resource).
func handleSize(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
	if ev.RequestType == cfn.RequestDelete {
		return ev.PhysicalResourceID, nil, nil
	}
	n, err := hubops.ParseNodegroupSize(ev.ResourceProperties)
	if err != nil {
		return failedID(ev), nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return failedID(ev), nil, fmt.Errorf("hubops: load AWS config: %w", err)
	}
	size := n.Min // created before its node group, which starts at its min
	if ev.RequestType == cfn.RequestUpdate {
		if size, err = hubops.DesiredSize(ctx, eks.NewFromConfig(cfg), n); err != nil {
			return failedID(ev), nil, err
		}
	}
	log.Printf("node group %s: desired size %d (min %d, max %d)", n.NodegroupName, size, n.Min, n.Max)
	return hubops.SizePhysicalID(n), map[string]any{"DesiredSize": size}, nil
}

// failedID is the physical ID to answer a failed request with: empty on Create, so that
// cfn.LambdaWrap sends the request ID and the Delete that follows is a no-op; else the current one.
func failedID(ev cfn.Event) string {
	if ev.RequestType == cfn.RequestCreate {
		return ""
	}
	return ev.PhysicalResourceID
}

// deps builds the AWS clients from the Lambda's role and a Kubernetes client that authenticates
// with an EKS token of that role (the role needs an access entry on the cluster).
func deps(ctx context.Context, p hubops.Props) (hubops.Deps, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return hubops.Deps{}, fmt.Errorf("hubops: load AWS config: %w", err)
	}
	token := kube.EKSTokenSource(sts.NewPresignClient(sts.NewFromConfig(cfg)), p.ClusterName)
	kc, err := kube.New(p.Endpoint, p.CertificateAuthority, token)
	if err != nil {
		return hubops.Deps{}, err
	}
	return hubops.Deps{
		Cognito: cip.NewFromConfig(cfg),
		EC2:     ec2.NewFromConfig(cfg),
		EFS:     efs.NewFromConfig(cfg),
		Kube:    kc,
		Logf:    log.Printf,
	}, nil
}
