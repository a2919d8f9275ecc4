package stacks

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/control"
	"github.com/stratolab/stratolab/constructs/controlpage"
	"github.com/stratolab/stratolab/instance"
	"github.com/stratolab/stratolab/internal/lambdaasset"
	"github.com/stratolab/stratolab/internal/published"
)

// ControlModule is the module name of control's published parameters.
const ControlModule = "control"

// Control is Cloud Control: <instance>/Control, a workflow per environment and the run table.
type Control struct {
	Stack   awscdk.Stack
	Control *control.Control
}

// expandDays turns mon-fri ranges into days (the config is validated, so every item is a day or a range).
func expandDays(items []string) []string {
	order := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	set := map[string]bool{}
	for _, it := range items {
		from, to := it, it
		if len(it) == 7 && it[3] == '-' {
			from, to = it[:3], it[4:]
		}
		in := false
		for _, d := range order {
			if d == from {
				in = true
			}
			if in {
				set[d] = true
			}
			if d == to {
				in = false
			}
		}
	}
	var out []string
	for _, d := range order {
		if set[d] {
			out = append(out, d)
		}
	}
	return out
}

// moduleStages are a module's own stages, in start order. Names are <stage>.<module>-<piece>.
func moduleStages(in *Instance, stage instance.ControlStage, module string) []control.Stage {
	base := control.Stage{Module: module, Wait: control.WaitRunning, TimeoutMinutes: stage.TimeoutMinutes, SettleSeconds: stage.SettleSeconds}
	piece := func(name string) control.Stage {
		s := base
		s.Name = stage.Name + "." + module + "-" + name
		return s
	}
	switch module {
	case "lookup":
		// On EC2 capacity the hosts come first (and go last), so that the tasks have somewhere to run.
		svc := in.Lookup.Service
		var out []control.Stage
		if svc.Hosts != nil {
			hosts := piece("hosts")
			hosts.AutoScalingGroups = []string{*svc.Hosts.AutoScalingGroupName()}
			out = append(out, hosts)
		}
		db, app := piece("database"), piece("app")
		db.ECSServices = []control.ECSService{{Cluster: *svc.Cluster.ClusterName(), Service: *svc.DatabaseService.ServiceName()}}
		app.ECSServices = []control.ECSService{{Cluster: *svc.Cluster.ClusterName(), Service: *svc.AppService.ServiceName()}}
		return append(out, db, app)
	case "hub":
		// The core group holds the hub itself; the user groups scale from zero and go first on stop.
		h := in.Hub.Hub
		core, users := piece("core"), piece("users")
		var names []string
		for n := range h.NodeGroups {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ng := control.EKSNodegroup{Cluster: *h.Cluster.ClusterName(), Nodegroup: *h.NodeGroups[n].NodegroupName()}
			if n == "core" {
				core.EKSNodegroups = append(core.EKSNodegroups, ng)
			} else {
				users.EKSNodegroups = append(users.EKSNodegroups, ng)
			}
		}
		if len(users.EKSNodegroups) == 0 {
			return []control.Stage{core}
		}
		return []control.Stage{core, users}
	case "jobs":
		web := piece("web")
		web.AutoScalingGroups = []string{*in.Jobs.Runner.WebFleet.AutoScalingGroupName()}
		return []control.Stage{web}
	}
	panic(fmt.Sprintf("stacks: control module %q has no stages", module))
}

func newControl(in *Instance, cfg *instance.Config) *Control {
	cc := cfg.Control
	s := in.newStack(cfg, "Control", "Cloud Control: ordered start and stop of environments, schedules and the run table")
	var envs []control.Environment
	for _, name := range cfg.EnvironmentNames() {
		e := cc.Environments[name]
		env := control.Environment{Name: name, KmsKeyArns: e.KmsKeyArns}
		for _, st := range e.Stages {
			if len(st.EC2.IDs)+len(st.EC2.Tags)+len(st.AutoScalingGroups)+len(st.ECSServices) > 0 {
				cs := control.Stage{Name: st.Name, InstanceIDs: st.EC2.IDs, InstanceTags: st.EC2.Tags, AutoScalingGroups: st.AutoScalingGroups,
					Wait: st.Wait, TargetGroupArns: st.TargetGroupArns, TimeoutMinutes: st.TimeoutMinutes, SettleSeconds: st.SettleSeconds}
				for _, svc := range st.ECSServices {
					cluster, service := splitService(svc)
					cs.ECSServices = append(cs.ECSServices, control.ECSService{Cluster: cluster, Service: service})
				}
				env.Stages = append(env.Stages, cs)
			}
			for _, m := range st.Modules {
				env.Stages = append(env.Stages, moduleStages(in, st, m)...)
			}
		}
		if sc := e.Schedule; sc != nil {
			env.Schedule = &control.Schedule{Timezone: sc.Timezone, Start: sc.Start, Stop: sc.Stop, Days: expandDays(sc.Days), Overnight: sc.Overnight, SkipDates: sc.SkipDates}
		}
		envs = append(envs, env)
	}
	props := &control.Props{Prefix: cfg.Name, Environments: envs, Lifecycle: lifecycleFor(cfg, cc.Lifecycle)}
	if cc.NotificationTopic != "" {
		props.NotificationTopic = awssns.Topic_FromTopicArn(s, jsii.String("NotificationTopic"), jsii.String(cc.NotificationTopic))
	}
	c := control.New(s, "Control", props)
	for _, e := range envs {
		w := c.Workflows[e.Name]
		id := control.Pascal(e.Name)
		awsssm.NewStringParameter(s, jsii.String(id+"DefinitionParameter"), &awsssm.StringParameterProps{
			ParameterName: jsii.String(published.Path(cfg.Name, ControlModule) + "environments/" + e.Name),
			StringValue:   w.Definition,
			Description:   jsii.String("stratolab " + cfg.Name + ": control environment " + e.Name + " (JSON, read by stratolab control)"),
			// Advanced parameters hold up to 8 KB (standard: 4 KB); a definition with many stages needs it.
			Tier: awsssm.ParameterTier_INTELLIGENT_TIERING,
		})
		awscdk.NewCfnOutput(s, jsii.String(id+"OperatorPolicyArn"), &awscdk.CfnOutputProps{
			Value:       w.OperatorPolicy.ManagedPolicyArn(),
			Description: jsii.String("Attach to the people who may start, stop and watch environment " + e.Name),
		})
		awscdk.NewCfnOutput(s, jsii.String(id+"WorkflowArn"), &awscdk.CfnOutputProps{
			Value: w.StateMachine.StateMachineArn(), Description: jsii.String("The start/stop workflow of environment " + e.Name),
		})
	}
	if cfg.ControlPageEnabled() {
		newControlPage(s, in, cfg, c)
	}
	awscdk.NewCfnOutput(s, jsii.String("RunTableName"), &awscdk.CfnOutputProps{Value: c.RunTable.TableName(), Description: jsii.String("Control runs, locks, holds and saved sizes")})
	controlPackExemptions(cfg, s, c)
	return &Control{Stack: s, Control: c}
}

// controlPackExemptions: what Cloud Control meets of NIST 800-53 R5 and HIPAA by design rather than
// by the rule's letter (docs/COMPLIANCE.md, control column). The run table is backed up for real.
func controlPackExemptions(cfg *instance.Config, s awscdk.Stack, c *control.Control) {
	backUpForPacks(cfg, s, "RunTable", "DynamoDBInBackupPlan",
		backupTarget{c.RunTable, awsbackup.BackupResource_FromDynamoDbTable(c.RunTable)})
	exemptFromPacks(cfg, s, packRules{
		"AWS::IAM::Policy": {"IAMNoInlinePolicy": "The CDK's grants for one role of Cloud Control (an environment's function, workflow or " +
			"scheduler, or the page), scoped to that environment's targets, workflow and the run table; attached to that one role only. " +
			"What people get is a managed policy (each environment's OperatorPolicy)"},
		"AWS::Lambda::Function": {
			"LambdaDLQ": "Invoked synchronously: an environment's function by its workflow's LambdaInvoke tasks (RequestResponse), the " +
				"page's by API Gateway; a DLQ holds only failed asynchronous events, and a failed run is recorded in the run table",
			"LambdaConcurrency": "One run per environment at a time (the run table's lock), and the page serves logged-in testers; " +
				"reserving concurrency takes from the account's unreserved pool and fails the deploy in accounts at the new-account limit",
			"LambdaInsideVPC": "The functions call only AWS APIs (EC2, Auto Scaling, ECS, EKS, Step Functions, DynamoDB) with IAM auth " +
				"over TLS; in a VPC they would need a NAT gateway or an interface endpoint per service, an always-on cost for a module " +
				"that is idle between runs",
		},
	})
}

// ControlPagePackage is the Go package of the control page's function.
const ControlPagePackage = "github.com/stratolab/stratolab/functions/controlpage"

// newControlPage serves the control page from the Control stack: testers log in through the instance's
// pool, and the page's function may do exactly what an operator of each environment may (the
// environments' operator policies), no more.
func newControlPage(s awscdk.Stack, in *Instance, cfg *instance.Config, c *control.Control) *controlpage.Page {
	dir, err := lambdaasset.Build(ControlPagePackage, "arm64")
	if err != nil {
		panic(fmt.Sprintf("control: cannot build the page's function: %v", err))
	}
	names := cfg.EnvironmentNames()
	var domain *controlpage.Domain
	if pc := cfg.Control.Page; pc.Host != "" {
		// The page's own name, one of the instance's front doors: with dns and the host in the zone the
		// certificate (unless certificate_arn is given) and the alias record are made here.
		domain = &controlpage.Domain{Name: instance.HostName(pc.Host), CertificateArn: pc.CertificateArn}
		if d := frontDoorDomain(s, cfg, pc.Host); d != nil {
			domain.Zone = d.Zone
		}
	}
	page := controlpage.New(s, "Page", &controlpage.Props{
		Domain:       domain,
		UserPool:     in.Auth.Auth.UserPool,
		HostedUIURL:  in.Auth.Auth.BaseURL,
		Environments: names,
		Code:         awslambda.Code_FromAsset(jsii.String(dir), nil),
		Environment:  map[string]*string{"CONTROL_INSTANCE": jsii.String(cfg.Name)},
		WatchAll:     cfg.Control.Page.WatchAll,
		Lifecycle:    lifecycleFor(cfg, cfg.Control.Lifecycle),
	})
	for _, name := range names {
		page.Role.AddManagedPolicy(c.Workflows[name].OperatorPolicy)
	}
	awscdk.NewCfnOutput(s, jsii.String("PageUrl"), &awscdk.CfnOutputProps{
		Value:       page.URL,
		Description: jsii.String("The control page; testers in the Cognito group control-<env> may start and stop <env>"),
	})
	if page.DomainName != nil && page.Record == nil {
		awscdk.NewCfnOutput(s, jsii.String("PageDomainTarget"), &awscdk.CfnOutputProps{
			Value:       page.DomainName.RegionalDomainName(),
			Description: jsii.String("Point a CNAME of " + domain.Name + " at this name (the page's API Gateway custom domain)"),
		})
	}
	return page
}

func splitService(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}
