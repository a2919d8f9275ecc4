package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsefs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/lookup"
	"github.com/stratolab/stratolab/instance"
)

// Lookup is the QA Authority Lookup service: <instance>/LookupData holds the file system, buckets and
// secrets; <instance>/Lookup the cluster, services, load balancer and sync.
type Lookup struct {
	DataStack awscdk.Stack
	Storage   *lookup.Storage
	Stack     awscdk.Stack
	Service   *lookup.Service
}

func newLookup(in *Instance, cfg *instance.Config) *Lookup {
	l := cfg.Lookup
	namespace := cfg.Name + ".lookup.internal"
	policy := lifecycleFor(cfg, l.Lifecycle)

	data := in.newStack(cfg, "LookupData", "lookup service file system, buckets and secrets")
	storage := lookup.NewStorage(data, "Storage", &lookup.StorageProps{
		Vpc:                   in.Base.Network.Vpc,
		InfrequentAccessAfter: awsefs.LifecyclePolicy(fmt.Sprintf("AFTER_%d_DAY%s", l.Efs.InfrequentAccessAfterDays, plural(l.Efs.InfrequentAccessAfterDays))),
		AutomaticBackups:      cfg.Production(),
		Authorities:           accessPoint(l.Efs.Authorities),
		Database:              accessPoint(l.Efs.Database),
		AllowRootPosixUser:    l.Efs.AllowRootPosixUser,
		Settings: map[string]string{
			"RAILS_ENV":        l.App.RailsEnv,
			"AUTHORITIES_PATH": l.App.AuthoritiesPath,
			"MYSQL_DATABASE":   l.Database.Name,
			"MYSQL_USER":       l.Database.User,
			"MYSQL_HOST":       lookup.DatabaseHostName + "." + namespace,
			"MYSQL_PORT":       fmt.Sprint(l.Database.Port),
		},
		Lifecycle: policy,
	})

	s := in.newStack(cfg, "Lookup", "lookup service cluster, services and load balancer")
	props := &lookup.ServiceProps{
		Vpc:          in.Base.Network.Vpc,
		Storage:      storage,
		Namespace:    namespace,
		Fargate:      l.Capacity == "fargate",
		InstanceType: l.InstanceType,
		MinInstances: l.MinInstances,
		MaxInstances: l.MaxInstances,
		App: lookup.App{
			Image: l.App.Image, Port: l.App.Port, Cpu: l.App.Cpu, MemoryMiB: l.App.MemoryMiB,
			DesiredCount: l.App.DesiredCount, MaxCount: l.App.MaxCount, CpuTargetPercent: l.App.CpuTargetPercent,
			AuthoritiesPath: l.App.AuthoritiesPath, HealthCheckPath: l.App.HealthCheckPath,
			DeregistrationDelay: awscdk.Duration_Seconds(jsii.Number(l.App.DeregistrationDelaySeconds)),
		},
		Database: lookup.Database{
			Image: l.Database.Image, Port: l.Database.Port, Cpu: l.Database.Cpu, MemoryMiB: l.Database.MemoryMiB,
		},
		CertificateArn: l.LoadBalancer.CertificateArn,
		AllowedCidrs:   l.LoadBalancer.AllowedCidrs,
		Internal:       l.LoadBalancer.Internal,
		LogRetention:   retentionDays(l.LogRetentionDays),
		Lifecycle:      policy,
	}
	if l.Sync.Enabled {
		props.Sync = &lookup.Sync{
			Source:   awss3.Bucket_FromBucketName(s, jsii.String("AuthoritiesSource"), jsii.String(l.Sync.SourceBucket)),
			Prefix:   l.Sync.SourcePrefix,
			Schedule: l.Sync.Schedule,
		}
	}
	service := lookup.NewService(s, "Service", props)
	awscdk.NewCfnOutput(s, jsii.String("ServiceUrl"), &awscdk.CfnOutputProps{
		Value:       jsii.String("https://" + *service.LoadBalancer.LoadBalancerDnsName()),
		Description: jsii.String("The lookup service (point your host name's DNS record at the load balancer)"),
	})
	return &Lookup{DataStack: data, Storage: storage, Stack: s, Service: service}
}

func accessPoint(a instance.LookupAccessPoint) *lookup.AccessPoint {
	return &lookup.AccessPoint{Path: a.Path, Uid: a.Uid, Gid: a.Gid, Permissions: a.Permissions}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "S"
}
