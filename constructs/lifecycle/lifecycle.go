// Package lifecycle answers one question for every stateful resource: what happens to it on
// `cdk destroy` or on a replacement? Constructs take a Policy in their props; the stacks package
// computes it once per module from the instance's lifecycle plus that module's override.
package lifecycle

import "github.com/aws/aws-cdk-go/awscdk/v2"

// Policy is what a construct does with the data it holds when its stack is deleted.
type Policy struct {
	// RemovalPolicy of buckets, tables, file systems, user pools and log groups.
	RemovalPolicy awscdk.RemovalPolicy
	// DeletionProtection turns on the resource's own deletion protection where it has one
	// (DynamoDB tables, Cognito user pools, load balancers).
	DeletionProtection bool
	// AutoDelete empties buckets and ECR repositories on deletion, so that destroy can remove them.
	// Never true when RemovalPolicy retains.
	AutoDelete bool
}

// Development destroys everything, emptying buckets and repositories first, so that
// `cdk destroy --all` leaves nothing behind.
func Development() Policy {
	return Policy{RemovalPolicy: awscdk.RemovalPolicy_DESTROY, AutoDelete: true}
}

// Production retains every resource that holds data and protects it from deletion.
func Production() Policy {
	return Policy{RemovalPolicy: awscdk.RemovalPolicy_RETAIN, DeletionProtection: true}
}

// Retains reports whether the resource outlives its stack.
func (p Policy) Retains() bool {
	return p.RemovalPolicy == awscdk.RemovalPolicy_RETAIN || p.RemovalPolicy == awscdk.RemovalPolicy_SNAPSHOT ||
		p.RemovalPolicy == awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE
}

// WithRemoval returns p with another removal policy. Auto-delete is dropped when the resource is kept,
// because emptying a bucket that is meant to be retained would lose its data.
func (p Policy) WithRemoval(r awscdk.RemovalPolicy) Policy {
	p.RemovalPolicy = r
	if p.Retains() {
		p.AutoDelete = false
	}
	return p
}

// WithDeletionProtection returns p with deletion protection set to on.
func (p Policy) WithDeletionProtection(on bool) Policy {
	p.DeletionProtection = on
	return p
}

// OrDefault returns p, or Production when p is the zero Policy: a construct used without a policy keeps
// its data, as the CDK's own stateful constructs do.
func (p Policy) OrDefault() Policy {
	if p == (Policy{}) {
		return Production()
	}
	return p
}
