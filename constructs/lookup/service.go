package lookup

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdatasync"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsefs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsservicediscovery"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/constructs/webfront"
	"github.com/stratolab/stratolab/internal/awsrules"
	"github.com/stratolab/stratolab/internal/launchtemplate"
)

// DatabaseHostName is the database service's name in the Cloud Map namespace: db.<namespace>.
const DatabaseHostName = "db"

// AppPort is where the QA Authority Lookup image listens: its Dockerfile's CMD binds puma to
// tcp://0.0.0.0:3000 (LD4P/qa_server_container, Dockerfile).
const AppPort = 3000

// DatabasePort is where MariaDB listens (mariadbd's default; the image passes no --port), and the
// port the app's database.yml connects to (it names no port, so the client's default, 3306).
const DatabasePort = 3306

// DatabaseServiceName is the database's ECS service name. Naming it makes CloudFormation refuse any
// update that would replace the service ("cannot update a stack when a custom-named resource requires
// replacing") instead of starting the replacement, a second MariaDB on the same data directory, before
// it stops the old one.
const DatabaseServiceName = "database"

// App is the web app's container and service.
type App struct {
	// Container image. Default: - DefaultAppImage
	Image string
	// Task CPU units and memory in MiB. Default: - 512 and 1024
	Cpu, MemoryMiB int
	// Tasks to run, and the most that CPU scaling may add. Default: - 2 and 4
	DesiredCount, MaxCount int
	// Average CPU the service scales to hold. Default: - 60
	CpuTargetPercent int
	// Where the authorities access point is mounted (read-only). Default: - /app/ld4p/qa_server-webapp/config/authorities
	AuthoritiesPath string
	// Target group health check path. Default: - /
	HealthCheckPath string
	// How long the load balancer drains a task. Default: - 30 seconds
	DeregistrationDelay awscdk.Duration
	// How long ECS ignores load balancer health checks of a new task (db:migrate and an eager-loading
	// boot come first). Default: - 180 seconds
	HealthCheckGracePeriod awscdk.Duration
}

// DefaultAppImage is where the app's publisher pushes it: LD4P/qa_server_container's
// aws-push-release-to-public.yml pushes public.ecr.aws/u8a1v5x2/ld4p/qa_authority_lookup tagged with
// the commit, the VERSION file (v2.0.0 since 2022) and latest.
const DefaultAppImage = "public.ecr.aws/u8a1v5x2/ld4p/qa_authority_lookup:v2.0.0"

// DefaultDatabaseImage is the MariaDB LTS the app runs on (its maintainers pinned 10.6 after 11.x
// broke it), from the ECR Public mirror of Docker's official images (no anonymous Docker Hub limits).
const DefaultDatabaseImage = "public.ecr.aws/docker/library/mariadb:10.11"

// Database is the database's container and service. It always runs exactly one task.
type Database struct {
	// Container image. Default: - DefaultDatabaseImage
	Image string
	// Task CPU units and memory in MiB. Default: - 512 and 1024
	Cpu, MemoryMiB int
	// Where the database access point is mounted. Default: - /var/lib/mysql
	DataPath string
	// The database MariaDB creates on first boot (MARIADB_DATABASE), and its user (MARIADB_USER), who is
	// granted all on it; the password is Storage.DatabasePassword. Default: - qa_server and qa
	Name, User string
}

// Sync copies authority files from S3 into the authorities access point with DataSync.
type Sync struct {
	// Bucket holding the authority files. Required.
	Source awss3.IBucket
	// Prefix of the files in Source. Default: - the whole bucket
	Prefix string
	// EventBridge-style schedule: cron(0 * * * ? *) or rate(1 hour). Default: - hourly, as the seed's
	Schedule string
}

// ServiceProps configure the stateless half.
type ServiceProps struct {
	// The VPC; tasks and capacity run in its private subnets. Required.
	Vpc awsec2.IVpc
	// The storage the services mount and read. Required.
	Storage *Storage
	// Cloud Map namespace of the cluster, such as lookup.example.internal. Required.
	Namespace string
	// Run on Fargate instead of EC2 capacity. Default: - false: EC2, as the QA deployment does
	Fargate bool
	// EC2 capacity: instance type and size; each awsvpc task takes one of a host's ENIs (an m5.large has
	// room for two tasks). Default: - m5.large, 1 to 3 (room for the database and 4 app tasks)
	InstanceType               string
	MinInstances, MaxInstances int
	App                        App
	Database                   Database
	// ACM certificate of the service's host name, in the stack's account and region.
	// Default: - with Domain, a DNS-validated certificate the stack makes; required without Domain
	CertificateArn string
	// The service's host name in a Route 53 hosted zone: an alias record to the load balancer, and the
	// certificate when CertificateArn is empty. Default: - no DNS record
	Domain *webfront.Domain
	// Who may reach the load balancer. Default: - 0.0.0.0/0
	AllowedCidrs []string
	// An internal load balancer, for a service only the campus network reaches. Default: - false
	Internal bool
	// How long container logs are kept. Default: - awslogs.RetentionDays_ONE_MONTH
	LogRetention awslogs.RetentionDays
	// What happens to the log groups on destroy. Default: - lifecycle.Production()
	Lifecycle lifecycle.Policy
	// Put an AWS WAF web ACL on the load balancer (webfront.NewWebACL: known-bad-inputs and IP reputation
	// rule groups), logging to a log group kept like the containers' logs. It costs about 5 USD a month
	// plus 1 USD per rule group and requests. Default: - false: no web ACL
	WebACL bool
	// Copy authority files from S3 on a schedule, and roll the app after a copy that changed a file.
	// Default: - no sync (the app then serves only the authorities something else writes)
	Sync *Sync
}

// Service is the cluster, the two services and the load balancer.
type Service struct {
	constructs.Construct
	Cluster         awsecs.ICluster
	AppService      awsecs.IBaseService
	DatabaseService awsecs.IBaseService
	LoadBalancer    awselasticloadbalancingv2.IApplicationLoadBalancer
	// Front is the load balancer's front door: its certificate (when made) and DNS records.
	Front *webfront.WebFront
	// WebACL guards the load balancer; nil unless ServiceProps.WebACL.
	WebACL           *webfront.WebACL
	AppSecurityGroup awsec2.ISecurityGroup
	// Hosts is the EC2 capacity's Auto Scaling group; nil on Fargate.
	Hosts awsautoscaling.IAutoScalingGroup
	// SyncTask is the DataSync task; nil without Sync.
	SyncTask awsdatasync.CfnTask

	p        *ServiceProps
	capacity awsecs.AsgCapacityProvider
}

// NewService creates the services. It panics on props that cannot work, before creating anything.
func NewService(scope constructs.Construct, id string, props *ServiceProps) *Service {
	p := serviceDefaults(props)
	if err := p.check(); err != nil {
		panic(fmt.Sprintf("lookup service %s: %v", id, err))
	}
	s := &Service{Construct: constructs.NewConstruct(scope, jsii.String(id)), p: p}
	st := p.Storage

	cluster := awsecs.NewCluster(s.Construct, jsii.String("Cluster"), &awsecs.ClusterProps{
		Vpc:                 p.Vpc,
		ContainerInsightsV2: awsecs.ContainerInsights_ENABLED,
		DefaultCloudMapNamespace: &awsecs.CloudMapNamespaceOptions{
			Name: jsii.String(p.Namespace), Type: awsservicediscovery.NamespaceType_DNS_PRIVATE, Vpc: p.Vpc,
		},
	})
	s.Cluster = cluster
	if !p.Fargate {
		s.ec2Capacity(cluster)
	}

	appSG := s.securityGroup("AppSecurityGroup", "Lookup app tasks: inbound only from the load balancer")
	dbSG := s.securityGroup("DatabaseSecurityGroup", "Lookup database task: MariaDB only from the app tasks")
	dbSG.AddIngressRule(appSG, awsec2.Port_Tcp(jsii.Number(DatabasePort)), jsii.String("MariaDB from the app"), nil)
	s.AppSecurityGroup = appSG
	s.allowNFS("NfsFromApp", appSG, "app tasks")
	s.allowNFS("NfsFromDatabase", dbSG, "the database task")

	logs := func(id string) awslogs.ILogGroup {
		return awslogs.NewLogGroup(s.Construct, jsii.String(id), &awslogs.LogGroupProps{
			Retention: p.LogRetention, RemovalPolicy: p.Lifecycle.OrDefault().RemovalPolicy,
		})
	}

	// The database: one task, and a deployment that stops the old task before starting the new one.
	// Its environment is its own, never the app's env file: the mariadb client that healthcheck.sh and
	// mariadb-upgrade run takes its default host from MYSQL_HOST, and with any host but localhost it
	// connects over TCP, where the healthcheck user (created for localhost only) does not exist.
	// Both containers run as their access point's POSIX user, with a read-only root file system; each
	// path they write is a task volume that a volume owner container hands to that user first (see
	// writableVolumes). mariadbd's temporary files go beside its socket, in the one scratch volume; the
	// entrypoint passes these arguments to its temporary server and to the server it execs.
	dbTask := s.taskDefinition("DatabaseTask", p.Database.Cpu, p.Database.MemoryMiB, "database", st.DatabaseAccessPoint, true)
	dbLogs := logs("DatabaseLogs")
	dbContainer := dbTask.AddContainer(jsii.String("db"), &awsecs.ContainerDefinitionOptions{
		ContainerName:  jsii.String("db"),
		Image:          awsecs.ContainerImage_FromRegistry(jsii.String(p.Database.Image), nil),
		Cpu:            s.containerCpu(p.Database.Cpu),
		MemoryLimitMiB: jsii.Number(p.Database.MemoryMiB),
		PortMappings:   &[]*awsecs.PortMapping{{ContainerPort: jsii.Number(DatabasePort), Name: jsii.String("mariadb")}},
		Logging:        awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{StreamPrefix: jsii.String("db"), LogGroup: dbLogs}),
		Environment: &map[string]*string{
			"MARIADB_DATABASE": jsii.String(p.Database.Name),
			"MARIADB_USER":     jsii.String(p.Database.User),
			// A newer image on an older data directory runs mariadb-upgrade (after a backup of the system tables).
			"MARIADB_AUTO_UPGRADE": jsii.String("1"),
			// mariadb-upgrade and the clients the entrypoint runs write their temporary files to $TMPDIR,
			// else /tmp (MariaDB server, mysys/mf_tempdir.c and client/mysql_upgrade.c create_temp_file);
			// --tmpdir reaches only mariadbd, and the root file system is read-only.
			"TMPDIR": jsii.String(DatabaseRunPath),
		},
		Secrets: &map[string]awsecs.Secret{
			"MARIADB_ROOT_PASSWORD": awsecs.Secret_FromSecretsManager(st.DatabaseRootPassword, nil),
			"MARIADB_PASSWORD":      awsecs.Secret_FromSecretsManager(st.DatabasePassword, nil),
		},
		// First boot initializes the data directory on EFS (mariadb-install-db, a temporary server, the
		// time zones, users and grants); a task killed half-way leaves a directory the entrypoint never
		// initializes again. So: the longest start period ECS allows, and time to shut InnoDB down cleanly.
		HealthCheck: &awsecs.HealthCheck{
			Command:     jsii.Strings("CMD", "healthcheck.sh", "--connect", "--innodb_initialized"),
			Interval:    awscdk.Duration_Seconds(jsii.Number(30)),
			Timeout:     awscdk.Duration_Seconds(jsii.Number(5)),
			Retries:     jsii.Number(3),
			StartPeriod: awscdk.Duration_Seconds(jsii.Number(300)),
		},
		StopTimeout:            awscdk.Duration_Seconds(jsii.Number(120)),
		User:                   jsii.String(PosixUser(st.Database)),
		ReadonlyRootFilesystem: jsii.Bool(true),
		Command:                jsii.Strings("mariadbd", "--tmpdir="+DatabaseRunPath),
	})
	dbContainer.AddMountPoints(&awsecs.MountPoint{ContainerPath: jsii.String(p.Database.DataPath), SourceVolume: jsii.String("database"), ReadOnly: jsii.Bool(false)})
	writableVolumes(dbTask, dbContainer, p.Database.Image, st.Database, dbLogs, map[string]string{"database-run": DatabaseRunPath})
	db := s.service("DatabaseService", dbTask, dbSG, 1, 0, 100, &awsecs.CloudMapOptions{
		Name: jsii.String(DatabaseHostName), DnsRecordType: awsservicediscovery.DnsRecordType_A, DnsTtl: awscdk.Duration_Seconds(jsii.Number(10)),
	}, nil)
	db.Node().DefaultChild().(awsecs.CfnService).SetServiceName(jsii.String(DatabaseServiceName))
	s.DatabaseService = db

	// The app: several tasks, CPU-scaled, reading the authorities read-only. The env file's hash is a
	// label, so a change of the file makes a new task definition revision, and so a deployment.
	appTask := s.taskDefinition("AppTask", p.App.Cpu, p.App.MemoryMiB, "authorities", st.AuthoritiesAccessPoint, false)
	appLogs := logs("AppLogs")
	appContainer := appTask.AddContainer(jsii.String("app"), &awsecs.ContainerDefinitionOptions{
		ContainerName:          jsii.String("app"),
		Image:                  awsecs.ContainerImage_FromRegistry(jsii.String(p.App.Image), nil),
		Cpu:                    s.containerCpu(p.App.Cpu),
		MemoryLimitMiB:         jsii.Number(p.App.MemoryMiB),
		PortMappings:           &[]*awsecs.PortMapping{{ContainerPort: jsii.Number(AppPort), Name: jsii.String("http")}},
		Logging:                awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{StreamPrefix: jsii.String("app"), LogGroup: appLogs}),
		DockerLabels:           &map[string]*string{EnvFileHashLabel: jsii.String(st.EnvFileHash)},
		User:                   jsii.String(PosixUser(st.Authorities)),
		ReadonlyRootFilesystem: jsii.Bool(true),
		Secrets: &map[string]awsecs.Secret{
			"SECRET_KEY_BASE": awsecs.Secret_FromSecretsManager(st.SecretKeyBase, nil),
			"MYSQL_PASSWORD":  awsecs.Secret_FromSecretsManager(st.DatabasePassword, nil),
			"RELOAD_TOKEN":    awsecs.Secret_FromSecretsManager(st.ReloadToken, nil),
		},
	})
	appContainer.AddMountPoints(&awsecs.MountPoint{ContainerPath: jsii.String(p.App.AuthoritiesPath), SourceVolume: jsii.String("authorities"), ReadOnly: jsii.Bool(true)})
	writableVolumes(appTask, appContainer, p.App.Image, st.Authorities, appLogs,
		map[string]string{"app-tmp": AppRoot + "/tmp", "app-log": AppRoot + "/log", "scratch": "/tmp"})
	// The env file goes to the app container, ContainerDefinitions.0: it is added before its volume owner.
	s.useEnvFile(appTask)
	if st.SecretsKey != nil {
		// ECS reads the secrets at task start with the execution role, and Secrets Manager decrypts them
		// with the caller's kms:Decrypt (Secrets Manager User Guide, "Secret encryption and decryption":
		// kms:Decrypt with kms:ViaService secretsmanager.<region>.amazonaws.com). aws-cdk-lib's
		// Secret.grantRead grants nothing for a referenced key, so it is granted here.
		for _, td := range []awsecs.TaskDefinition{dbTask, appTask} {
			td.ObtainExecutionRole().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("DecryptSecrets"),
				Actions:    jsii.Strings("kms:Decrypt"),
				Resources:  jsii.Strings(*st.SecretsKey.KeyArn()),
				Conditions: &map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager." + *awscdk.Stack_Of(s.Construct).Region() + ".amazonaws.com"}},
			}))
		}
	}
	app := s.service("AppService", appTask, appSG, p.App.DesiredCount, 50, 200, nil, p.App.HealthCheckGracePeriod)
	app.Node().AddDependency(s.DatabaseService)
	s.AppService = app
	scaling := app.AutoScaleTaskCount(&awsapplicationautoscaling.EnableScalingProps{MinCapacity: jsii.Number(p.App.DesiredCount), MaxCapacity: jsii.Number(p.App.MaxCount)})
	scaling.ScaleOnCpuUtilization(jsii.String("Cpu"), &awsecs.CpuUtilizationScalingProps{
		TargetUtilizationPercent: jsii.Number(p.App.CpuTargetPercent),
		ScaleInCooldown:          awscdk.Duration_Minutes(jsii.Number(5)),
		ScaleOutCooldown:         awscdk.Duration_Minutes(jsii.Number(1)),
	})

	front := webfront.New(s.Construct, "Front", &webfront.Props{
		Vpc: p.Vpc, CertificateArn: p.CertificateArn, Domain: p.Domain, Purpose: "Lookup service", AccessLogs: st.LogsBucket,
		AccessLogsPrefix: "alb/lookup", AllowedCidrs: p.AllowedCidrs, Internal: p.Internal,
	})
	front.HTTPS.AddTargets(jsii.String("App"), &awselasticloadbalancingv2.AddApplicationTargetsProps{
		Port:     jsii.Number(AppPort),
		Protocol: awselasticloadbalancingv2.ApplicationProtocol_HTTP,
		Targets: &[]awselasticloadbalancingv2.IApplicationLoadBalancerTarget{app.LoadBalancerTarget(&awsecs.LoadBalancerTargetOptions{
			ContainerName: jsii.String("app"), ContainerPort: jsii.Number(AppPort),
		})},
		DeregistrationDelay: p.App.DeregistrationDelay,
		HealthCheck: &awselasticloadbalancingv2.HealthCheck{
			Path: jsii.String(p.App.HealthCheckPath), HealthyHttpCodes: jsii.String("200"), Interval: awscdk.Duration_Seconds(jsii.Number(30)),
		},
	})
	s.LoadBalancer = front.LoadBalancer
	s.Front = front
	if p.WebACL {
		s.WebACL = webfront.NewWebACL(s.Construct, "WebAcl", &webfront.WebACLProps{
			Purpose: "Lookup service", MetricName: "LookupService", LoadBalancer: front.LoadBalancer,
			LogRetention: p.LogRetention, LogRemovalPolicy: p.Lifecycle.OrDefault().RemovalPolicy,
		})
	}

	if p.Sync != nil {
		s.sync(p.Sync)
	}
	return s
}

// EnvFileHashLabel is the app container's Docker label that carries the env file's SHA-256.
const EnvFileHashLabel = "org.stratolab.lookup.env-file-sha256"

// containerCpu is the CPU units a container reserves on EC2, where the task has no size of its own
// (ECS places tasks and computes CPU utilization from these units); on Fargate the task size is enough.
func (s *Service) containerCpu(cpu int) *float64 {
	if s.p.Fargate {
		return nil
	}
	return jsii.Number(cpu)
}

func (s *Service) securityGroup(id, description string) awsec2.SecurityGroup {
	return awsec2.NewSecurityGroup(s.Construct, jsii.String(id), &awsec2.SecurityGroupProps{
		Vpc: s.p.Vpc, Description: jsii.String(description), AllowAllOutbound: jsii.Bool(true),
	})
}

// allowNFS opens 2049 on the file system's security group to one of this service's security groups.
// The rule lives here, beside the services, so that the storage stack never depends on them.
func (s *Service) allowNFS(id string, from awsec2.ISecurityGroup, who string) {
	awsec2.NewCfnSecurityGroupIngress(s.Construct, jsii.String(id), &awsec2.CfnSecurityGroupIngressProps{
		GroupId:               s.p.Storage.FileSystemSecurityGroup.SecurityGroupId(),
		SourceSecurityGroupId: from.SecurityGroupId(),
		IpProtocol:            jsii.String("tcp"),
		FromPort:              jsii.Number(2049),
		ToPort:                jsii.Number(2049),
		Description:           jsii.String("NFS from " + who),
	})
}

// AppRoot is the app's Rails root in LD4P/qa_server_container v2.0.0 (its Dockerfile's WORKDIR and
// RAILS_ROOT).
const AppRoot = "/app/ld4p/qa_server-webapp"

// DatabaseRunPath is MariaDB's socket, pid and lock directory (the official image's Dockerfile makes
// it, and its my.cnf puts socket and pid-file there).
const DatabaseRunPath = "/run/mysqld"

// PosixUser is the "uid:gid" a container runs as: its access point's POSIX user, so that what the
// process is and what owns the files it reads and writes on EFS are the same user.
func PosixUser(ap AccessPoint) string {
	return fmt.Sprintf("%d:%d", ap.Uid, ap.Gid)
}

// VolumeOwnerSuffix names the container that hands a container's task volumes to its user:
// <container>-volume-owner.
const VolumeOwnerSuffix = "-volume-owner"

// volumeOwnerDroppedCapabilities is Docker's default capability set (moby oci/caps/defaults.go) but
// CHOWN: all the volume owner keeps. (Fargate refuses to add any capability but SYS_PTRACE, so
// "drop ALL, add CHOWN" would not work there; dropping the others works on both.)
var volumeOwnerDroppedCapabilities = []awsecs.Capability{
	awsecs.Capability_AUDIT_WRITE, awsecs.Capability_DAC_OVERRIDE, awsecs.Capability_FOWNER, awsecs.Capability_FSETID,
	awsecs.Capability_KILL, awsecs.Capability_MKNOD, awsecs.Capability_NET_BIND_SERVICE, awsecs.Capability_NET_RAW,
	awsecs.Capability_SETFCAP, awsecs.Capability_SETGID, awsecs.Capability_SETPCAP, awsecs.Capability_SETUID,
	awsecs.Capability_SYS_CHROOT,
}

// writableVolumes gives each path the container writes a task volume, and adds the container's volume
// owner: a non-essential container of the same image that chowns those volumes to the container's user
// and exits; the container starts only after it succeeded.
//
// Why a volume owner. Neither kind of task volume starts out writable by a non-root user:
//   - On Fargate a volume without host is a bind mount in the task's ephemeral storage, owned by root
//     with mode 0755; only a path the image declares with VOLUME gets the image's files and ownership
//     (Amazon ECS Developer Guide, "Use bind mounts with Amazon ECS", considerations). Neither image
//     declares these paths (mariadb 10.11 declares only /var/lib/mysql).
//   - On EC2 the ECS agent makes it a task-scoped Docker volume of the local driver
//     (amazon-ecs-agent agent/api/task/taskvolume.go unmarshalHostVolume: an empty sourcePath becomes a
//     LocalDockerVolume; task.go initializeDockerLocalVolumes), which Docker fills, at first mount,
//     with the image's content at that path and its ownership. So /run/mysqld arrives mysql's (the
//     Dockerfile chowns it and makes it 1777), but the app's tmp/ arrives root's, with the asset
//     cache that `rake assets:precompile` left in it as root: hence chown -R.
//
// What the pinned images write, read from their sources:
//   - LD4P/qa_server_container v2.0.0 (Rails 5.2, puma, on ruby:2.7.3-alpine): tmp/ (Rails' file
//     cache store, puma's tmp_restart plugin), log/ (Rails' log directory; with RAILS_LOG_TO_STDOUT
//     the logger writes to stdout) and /tmp (Ruby's Dir.tmpdir, ImageMagick, and Bundler's home: a
//     uid without a passwd entry gets HOME=/, which is not writable, so Bundler uses a directory under
//     Dir.tmpdir). Its entrypoint writes nothing (it waits for the database and runs db:migrate;
//     production.rb sets dump_schema_after_migration false, so no db/schema.rb). The app and gem files
//     are root's and readable by others (COPY and bundle install as root with umask 022).
//   - mariadb:10.11 (MariaDB/mariadb-docker 10.11): /var/lib/mysql (the EFS volume) and /run/mysqld
//     (socket, pid, lock, and here --tmpdir). Started as a non-root user, docker-entrypoint.sh skips
//     its chown of the data directory and the socket directory and its gosu step
//     (docker_create_db_directories: `if [ "$user" = "0" ]`; _main: `if [ "$(id -u)" = "0" ]`), so
//     both must already be that user's: the data directory is, through the access point.
//
// The volume owner is the one container that runs as root, with every capability but CHOWN dropped, a
// read-only root file system, no secrets, no environment, no port; it runs `chown` only.
func writableVolumes(td awsecs.TaskDefinition, c awsecs.ContainerDefinition, image string, user AccessPoint, logs awslogs.ILogGroup, paths map[string]string) {
	names := make([]string, 0, len(paths))
	for n := range paths {
		names = append(names, n)
	}
	sort.Strings(names)
	mounts := make([]*awsecs.MountPoint, 0, len(names))
	command := []string{"-R", PosixUser(user)}
	for _, n := range names {
		td.AddVolume(&awsecs.Volume{Name: jsii.String(n)})
		mounts = append(mounts, &awsecs.MountPoint{ContainerPath: jsii.String(paths[n]), SourceVolume: jsii.String(n), ReadOnly: jsii.Bool(false)})
		command = append(command, paths[n])
	}
	c.AddMountPoints(mounts...)

	name := *c.ContainerName() + VolumeOwnerSuffix
	linux := awsecs.NewLinuxParameters(td, jsii.String(name+"-linux"), &awsecs.LinuxParametersProps{})
	linux.DropCapabilities(volumeOwnerDroppedCapabilities...)
	owner := td.AddContainer(jsii.String(name), &awsecs.ContainerDefinitionOptions{
		ContainerName: jsii.String(name),
		Image:         awsecs.ContainerImage_FromRegistry(jsii.String(image), nil),
		Essential:     jsii.Bool(false),
		// chown changes a file's owner only with CAP_CHOWN, which a non-root process does not get.
		User:                   jsii.String("0:0"),
		EntryPoint:             jsii.Strings("chown"),
		Command:                jsii.Strings(command...),
		ReadonlyRootFilesystem: jsii.Bool(true),
		LinuxParameters:        linux,
		Logging:                awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{StreamPrefix: jsii.String(name), LogGroup: logs}),
	})
	owner.AddMountPoints(mounts...)
	c.AddContainerDependencies(&awsecs.ContainerDependency{Container: owner, Condition: awsecs.ContainerDependencyCondition_SUCCESS})
}

// taskDefinition makes an awsvpc task definition with one EFS volume through an access point, mounted
// with IAM authorization and TLS, and grants its task role exactly that mount.
func (s *Service) taskDefinition(id string, cpu, memory int, volume string, ap awsefs.IAccessPoint, write bool) awsecs.TaskDefinition {
	vol := &awsecs.Volume{Name: jsii.String(volume), EfsVolumeConfiguration: &awsecs.EfsVolumeConfiguration{
		FileSystemId:      s.p.Storage.FileSystem.FileSystemId(),
		TransitEncryption: jsii.String("ENABLED"),
		AuthorizationConfig: &awsecs.AuthorizationConfig{
			AccessPointId: ap.AccessPointId(), Iam: jsii.String("ENABLED"),
		},
	}}
	var td awsecs.TaskDefinition
	if s.p.Fargate {
		td = awsecs.NewFargateTaskDefinition(s.Construct, jsii.String(id), &awsecs.FargateTaskDefinitionProps{
			Cpu: jsii.Number(cpu), MemoryLimitMiB: jsii.Number(memory), Volumes: &[]*awsecs.Volume{vol},
		})
	} else {
		// The task's size as well as its container's: the ECSServiceAverageCPUUtilization metric that the
		// app scales on divides by the CPU units the task definition specifies, and the task's memory lets
		// the volume owner container go without a limit of its own (ECS: the memory its containers reserve
		// must stay within the task's, and the main container reserves all of it). A TaskDefinition, not an
		// Ec2TaskDefinition, whose props take no task memory; it also adds AWS_REGION to each awsvpc
		// container's environment, which neither image reads (no AWS SDK in either).
		td = awsecs.NewTaskDefinition(s.Construct, jsii.String(id), &awsecs.TaskDefinitionProps{
			Compatibility: awsecs.Compatibility_EC2, NetworkMode: awsecs.NetworkMode_AWS_VPC, Volumes: &[]*awsecs.Volume{vol},
			Cpu: jsii.String(fmt.Sprint(cpu)), MemoryMiB: jsii.String(fmt.Sprint(memory)),
		})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(td, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-ECS2"),
		Reason: jsii.String("No secret is in an environment variable: the database's MARIADB_DATABASE, MARIADB_USER, MARIADB_AUTO_UPGRADE and TMPDIR are names, " +
			"a switch and a path. The app's settings come from the S3 env file, every password and key from Secrets Manager."),
	}}, jsii.Bool(false))
	actions := []string{"elasticfilesystem:ClientMount"}
	if write {
		actions = append(actions, "elasticfilesystem:ClientWrite")
	}
	td.AddToTaskRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("Mount" + strings.ToUpper(volume[:1]) + volume[1:]),
		Actions:    jsii.Strings(actions...),
		Resources:  &[]*string{s.p.Storage.FileSystem.FileSystemArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"elasticfilesystem:AccessPointArn": ap.AccessPointArn()}},
	}))
	return td
}

// useEnvFile points the task's container at the env file and lets its execution role read that one
// object. (The CDK's EnvironmentFile grants s3:GetObject*, s3:GetBucket* and s3:List* on the bucket.)
func (s *Service) useEnvFile(td awsecs.TaskDefinition) {
	st := s.p.Storage
	object := st.ConfigBucket.ArnForObjects(jsii.String(st.EnvFileKey))
	td.Node().DefaultChild().(awsecs.CfnTaskDefinition).AddPropertyOverride(jsii.String("ContainerDefinitions.0.EnvironmentFiles"),
		[]map[string]any{{"Type": "s3", "Value": object}})
	td.AddToExecutionRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("ReadEnvFile"), Actions: jsii.Strings("s3:GetObject"), Resources: &[]*string{object},
	}))
	td.AddToExecutionRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("LocateEnvFileBucket"), Actions: jsii.Strings("s3:GetBucketLocation"), Resources: &[]*string{st.ConfigBucket.BucketArn()},
	}))
	// Under SSE-KMS, ECS's GetObject of the env file with the execution role is decrypted by S3 with
	// that role's kms:Decrypt (Amazon S3 User Guide, "Using server-side encryption with AWS KMS keys";
	// Amazon ECS Developer Guide, "Amazon ECS task execution IAM role", Amazon S3 file storage
	// permissions for environment files). Without it the task stops before its containers start.
	if key := st.ConfigKeyStatement("DecryptEnvFile", "kms:Decrypt"); key != nil {
		td.AddToExecutionRolePolicy(key)
	}
}

func (s *Service) service(id string, td awsecs.TaskDefinition, sg awsec2.ISecurityGroup, desired, minHealthy, maxHealthy int, cloudMap *awsecs.CloudMapOptions, grace awscdk.Duration) awsecs.BaseService {
	subnets := webfront.PrivateSubnets(s.p.Vpc)
	breaker := &awsecs.DeploymentCircuitBreaker{Enable: jsii.Bool(true), Rollback: jsii.Bool(true)}
	if s.p.Fargate {
		return awsecs.NewFargateService(s.Construct, jsii.String(id), &awsecs.FargateServiceProps{
			Cluster: s.Cluster, TaskDefinition: td, DesiredCount: jsii.Number(desired),
			MinHealthyPercent: jsii.Number(minHealthy), MaxHealthyPercent: jsii.Number(maxHealthy),
			SecurityGroups: &[]awsec2.ISecurityGroup{sg}, VpcSubnets: subnets, CloudMapOptions: cloudMap,
			CircuitBreaker: breaker, EnableECSManagedTags: jsii.Bool(true), PropagateTags: awsecs.PropagatedTagSource_SERVICE,
			HealthCheckGracePeriod: grace,
		})
	}
	svc := awsecs.NewEc2Service(s.Construct, jsii.String(id), &awsecs.Ec2ServiceProps{
		Cluster: s.Cluster, TaskDefinition: td, DesiredCount: jsii.Number(desired),
		MinHealthyPercent: jsii.Number(minHealthy), MaxHealthyPercent: jsii.Number(maxHealthy),
		SecurityGroups: &[]awsec2.ISecurityGroup{sg}, VpcSubnets: subnets, CloudMapOptions: cloudMap,
		CircuitBreaker: breaker, EnableECSManagedTags: jsii.Bool(true), PropagateTags: awsecs.PropagatedTagSource_SERVICE,
		HealthCheckGracePeriod:     grace,
		CapacityProviderStrategies: &[]*awsecs.CapacityProviderStrategy{{CapacityProvider: s.capacity.CapacityProviderName(), Weight: jsii.Number(1)}},
		PlacementStrategies:        &[]awsecs.PlacementStrategy{awsecs.PlacementStrategy_SpreadAcross(jsii.String("attribute:ecs.availability-zone")), awsecs.PlacementStrategy_SpreadAcrossInstances()},
	})
	// The cluster's capacity provider association is a child of the cluster, made late by an aspect; the
	// CDK adds no dependency on it. Without one, CloudFormation deletes the association while the service
	// still runs tasks on the provider ("The specified capacity provider is in use and cannot be removed")
	// and may create the service before the provider is associated.
	svc.Node().AddDependency(s.Cluster)
	return svc
}

// ec2Capacity is an autoscaling group of ECS-optimized AL2023 hosts (IMDSv2, encrypted gp3) that the
// cluster scales through a capacity provider.
func (s *Service) ec2Capacity(cluster awsecs.Cluster) {
	p := s.p
	hw := awsecs.AmiHardwareType_STANDARD
	if awsrules.EC2Arch(p.InstanceType) == "arm64" {
		hw = awsecs.AmiHardwareType_ARM
	}
	role := awsiam.NewRole(s.Construct, jsii.String("HostRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("ec2.amazonaws.com"), nil),
		Description: jsii.String("ECS container instances of the lookup service"),
	})
	hostSG := awsec2.NewSecurityGroup(s.Construct, jsii.String("HostSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc: p.Vpc, Description: jsii.String("Lookup ECS hosts: no inbound; tasks have their own security groups"), AllowAllOutbound: jsii.Bool(true),
	})
	lt := launchtemplate.New(s.Construct, "HostLaunchTemplate", launchtemplate.Props{
		InstanceType: p.InstanceType, MachineImage: awsecs.EcsOptimizedImage_AmazonLinux2023(hw, nil),
		UserData: awsec2.UserData_ForLinux(nil), Role: role, SecurityGroup: hostSG, DetailedMonitoring: true,
	})

	notifications := awssns.NewTopic(s.Construct, jsii.String("HostNotifications"), &awssns.TopicProps{
		DisplayName: jsii.String("Lookup ECS host launch, termination and error events"), EnforceSSL: jsii.Bool(true),
	})
	asg := awsautoscaling.NewAutoScalingGroup(s.Construct, jsii.String("Hosts"), &awsautoscaling.AutoScalingGroupProps{
		Vpc:            p.Vpc,
		VpcSubnets:     webfront.PrivateSubnets(p.Vpc),
		LaunchTemplate: lt,
		MinCapacity:    jsii.Number(p.MinInstances),
		MaxCapacity:    jsii.Number(p.MaxInstances),
		Cooldown:       awscdk.Duration_Minutes(jsii.Number(5)),
		HealthChecks:   awsautoscaling.HealthChecks_Ec2(&awsautoscaling.Ec2HealthChecksOptions{GracePeriod: awscdk.Duration_Minutes(jsii.Number(5))}),
		Notifications:  &[]*awsautoscaling.NotificationConfiguration{{Topic: notifications, ScalingEvents: awsautoscaling.ScalingEvents_ALL()}},
	})
	s.Hosts = asg
	s.capacity = awsecs.NewAsgCapacityProvider(s.Construct, jsii.String("Capacity"), &awsecs.AsgCapacityProviderProps{
		AutoScalingGroup:                   asg,
		EnableManagedScaling:               jsii.Bool(true),
		EnableManagedTerminationProtection: jsii.Bool(false),
		EnableManagedDraining:              jsii.Bool(true),
	})
	cluster.AddAsgCapacityProvider(s.capacity, nil)
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The ECS agent on these hosts calls ecs:DiscoverPollEndpoint, ecs:Poll, ecs:StartTelemetrySession and ecr:GetAuthorizationToken, " +
			"which take no resource ARN, and ecs:Submit* on this cluster; the CDK grants exactly what the agent needs, and nothing on data."),
	}}, jsii.Bool(true))
}

// sync copies authority files from S3 into the authorities access point on a schedule, with roles that
// can only read the source prefix and mount the access point.
func (s *Service) sync(sync *Sync) {
	p, st := s.p, s.p.Storage
	stack := awscdk.Stack_Of(s.Construct)
	sg := awsec2.NewSecurityGroup(s.Construct, jsii.String("SyncSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc: p.Vpc, Description: jsii.String("DataSync to the lookup EFS: NFS out only"), AllowAllOutbound: jsii.Bool(false),
	})
	sg.AddEgressRule(awsec2.Peer_SecurityGroupId(st.FileSystemSecurityGroup.SecurityGroupId(), nil), awsec2.Port_Tcp(jsii.Number(2049)), jsii.String("NFS to the file system"), nil)
	s.allowNFS("NfsFromSync", sg, "DataSync")

	prefix := strings.Trim(sync.Prefix, "/")
	objects := *sync.Source.BucketArn() + "/*"
	if prefix != "" {
		objects = *sync.Source.BucketArn() + "/" + prefix + "/*"
	}
	s3Role := awsiam.NewRole(s.Construct, jsii.String("SyncSourceRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("datasync.amazonaws.com"), nil),
		Description: jsii.String("DataSync reads the authority files from S3"),
		InlinePolicies: &map[string]awsiam.PolicyDocument{"ReadAuthorities": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"), Resources: &[]*string{sync.Source.BucketArn()}}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"), Resources: jsii.Strings(objects)}),
		}})},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s3Role, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("DataSync reads every object under the authority files' prefix of the source bucket (read-only actions); the object keys are the files to copy."),
	}}, jsii.Bool(true))
	efsRole := awsiam.NewRole(s.Construct, jsii.String("SyncMountRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("datasync.amazonaws.com"), nil),
		Description: jsii.String("DataSync mounts the authorities access point"),
		InlinePolicies: &map[string]awsiam.PolicyDocument{"MountAuthorities": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:    jsii.Strings("elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"),
				Resources:  &[]*string{st.FileSystem.FileSystemArn()},
				Conditions: &map[string]any{"StringEquals": map[string]any{"elasticfilesystem:AccessPointArn": st.AuthoritiesAccessPoint.AccessPointArn()}},
			}),
		}})},
	})
	subnet := (*p.Vpc.SelectSubnets(webfront.PrivateSubnets(p.Vpc)).SubnetIds)[0]
	arn := func(service, resource string) *string {
		return jsii.String("arn:" + *stack.Partition() + ":" + service + ":" + *stack.Region() + ":" + *stack.Account() + ":" + resource)
	}
	efsLocation := awsdatasync.NewCfnLocationEFS(s.Construct, jsii.String("SyncDestination"), &awsdatasync.CfnLocationEFSProps{
		EfsFilesystemArn:        st.FileSystem.FileSystemArn(),
		AccessPointArn:          st.AuthoritiesAccessPoint.AccessPointArn(),
		FileSystemAccessRoleArn: efsRole.RoleArn(),
		InTransitEncryption:     jsii.String("TLS1_2"),
		Ec2Config: &awsdatasync.CfnLocationEFS_Ec2ConfigProperty{
			SecurityGroupArns: &[]*string{arn("ec2", "security-group/"+*sg.SecurityGroupId())},
			SubnetArn:         arn("ec2", "subnet/"+*subnet),
		},
	})
	s3Location := awsdatasync.NewCfnLocationS3(s.Construct, jsii.String("SyncSource"), &awsdatasync.CfnLocationS3Props{
		S3BucketArn:  sync.Source.BucketArn(),
		S3Config:     &awsdatasync.CfnLocationS3_S3ConfigProperty{BucketAccessRoleArn: s3Role.RoleArn()},
		Subdirectory: jsii.String("/" + prefix),
	})
	logGroup := awslogs.NewLogGroup(s.Construct, jsii.String("SyncLogs"), &awslogs.LogGroupProps{
		Retention: p.LogRetention, RemovalPolicy: p.Lifecycle.OrDefault().RemovalPolicy,
	})
	awslogs.NewResourcePolicy(s.Construct, jsii.String("SyncLogsPolicy"), &awslogs.ResourcePolicyProps{
		PolicyStatements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("datasync.amazonaws.com"), nil)},
			Actions:    jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources:  jsii.Strings(*logGroup.LogGroupArn()),
		})},
	})
	schedule := sync.Schedule
	if schedule == "" {
		schedule = "cron(0 * * * ? *)"
	}
	s.SyncTask = awsdatasync.NewCfnTask(s.Construct, jsii.String("SyncTask"), &awsdatasync.CfnTaskProps{
		Name:                   jsii.String("authorities-from-s3"),
		SourceLocationArn:      s3Location.AttrLocationArn(),
		DestinationLocationArn: efsLocation.AttrLocationArn(),
		CloudWatchLogGroupArn:  logGroup.LogGroupArn(),
		Schedule:               &awsdatasync.CfnTask_TaskScheduleProperty{ScheduleExpression: jsii.String(schedule)},
		Options: &awsdatasync.CfnTask_OptionsProperty{
			OverwriteMode:        jsii.String("ALWAYS"),
			PreserveDeletedFiles: jsii.String("REMOVE"),
			VerifyMode:           jsii.String("ONLY_FILES_TRANSFERRED"),
			LogLevel:             jsii.String("BASIC"),
			// S3 carries no POSIX metadata; the access point decides ownership.
			PosixPermissions: jsii.String("NONE"), Uid: jsii.String("NONE"), Gid: jsii.String("NONE"),
		},
	})
	s.restartAppAfterSync()
}

// restartAppAfterSync starts a new deployment of the app after each sync that changed a file. Qa reads
// config/authorities only at boot (or on a reload request, which through the load balancer reaches one
// task of several), so new tasks are the way every task sees the new files. An execution that copied
// and deleted nothing leaves the app alone, so the hourly schedule does not roll the tasks every hour.
func (s *Service) restartAppAfterSync() {
	executions := jsii.String(*s.SyncTask.AttrTaskArn() + "/execution/*")
	describe := awsstepfunctionstasks.NewCallAwsService(s.Construct, jsii.String("DescribeSyncExecution"), &awsstepfunctionstasks.CallAwsServiceProps{
		Service: jsii.String("datasync"), Action: jsii.String("describeTaskExecution"),
		Parameters:   &map[string]any{"TaskExecutionArn": awsstepfunctions.JsonPath_StringAt(jsii.String("$.resources[0]"))},
		IamResources: &[]*string{executions},
		ResultSelector: &map[string]any{
			"FilesTransferred": awsstepfunctions.JsonPath_NumberAt(jsii.String("$.FilesTransferred")),
			"FilesDeleted":     awsstepfunctions.JsonPath_NumberAt(jsii.String("$.FilesDeleted")),
		},
	})
	restart := awsstepfunctionstasks.NewCallAwsService(s.Construct, jsii.String("RestartApp"), &awsstepfunctionstasks.CallAwsServiceProps{
		Service: jsii.String("ecs"), Action: jsii.String("updateService"),
		Parameters: &map[string]any{
			"Cluster": s.Cluster.ClusterArn(), "Service": s.AppService.ServiceName(), "ForceNewDeployment": true,
		},
		IamResources: &[]*string{s.AppService.ServiceArn()},
		ResultPath:   awsstepfunctions.JsonPath_DISCARD(),
	})
	changed := awsstepfunctions.NewChoice(s.Construct, jsii.String("FilesChanged"), nil).
		When(awsstepfunctions.Condition_Or(
			awsstepfunctions.Condition_NumberGreaterThan(jsii.String("$.FilesTransferred"), jsii.Number(0)),
			awsstepfunctions.Condition_NumberGreaterThan(jsii.String("$.FilesDeleted"), jsii.Number(0)),
		), restart, nil).
		Otherwise(awsstepfunctions.NewSucceed(s.Construct, jsii.String("NothingChanged"), nil))
	logs := awslogs.NewLogGroup(s.Construct, jsii.String("RestartAfterSyncLogs"), &awslogs.LogGroupProps{
		Retention: s.p.LogRetention, RemovalPolicy: s.p.Lifecycle.OrDefault().RemovalPolicy,
	})
	machine := awsstepfunctions.NewStateMachine(s.Construct, jsii.String("RestartAfterSync"), &awsstepfunctions.StateMachineProps{
		Comment:          jsii.String("Start a new deployment of the lookup app after a DataSync execution that changed the authorities"),
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromChainable(describe.Next(changed)),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		Timeout:          awscdk.Duration_Minutes(jsii.Number(5)),
		TracingEnabled:   jsii.Bool(true),
		Logs:             &awsstepfunctions.LogOptions{Destination: logs, Level: awsstepfunctions.LogLevel_ALL},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(machine, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The state machine describes executions of this one DataSync task (<task>/execution/*: the execution IDs are not known " +
			"in advance); CloudWatch Logs delivery and X-Ray take no resource ARN (the CDK's grants for state machine logging and tracing)."),
	}}, jsii.Bool(true))
	awsevents.NewRule(s.Construct, jsii.String("SyncSucceeded"), &awsevents.RuleProps{
		Description: jsii.String("A DataSync execution of the authorities task succeeded"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.datasync"),
			DetailType: jsii.Strings("DataSync Task Execution State Change"),
			Resources:  awsevents.Match_Prefix(jsii.String(*s.SyncTask.AttrTaskArn() + "/execution/")),
			Detail:     &map[string]any{"State": []string{"SUCCESS"}},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewSfnStateMachine(machine, nil)},
	})
}

func serviceDefaults(in *ServiceProps) *ServiceProps {
	p := ServiceProps{}
	if in != nil {
		p = *in
	}
	setString(&p.InstanceType, "m5.large")
	setInt(&p.MinInstances, 1)
	setInt(&p.MaxInstances, 3)
	a := &p.App
	setString(&a.Image, DefaultAppImage)
	setInt(&a.Cpu, 512)
	setInt(&a.MemoryMiB, 1024)
	setInt(&a.DesiredCount, 2)
	setInt(&a.MaxCount, 4)
	setInt(&a.CpuTargetPercent, 60)
	setString(&a.AuthoritiesPath, "/app/ld4p/qa_server-webapp/config/authorities")
	setString(&a.HealthCheckPath, "/")
	if a.DeregistrationDelay == nil {
		a.DeregistrationDelay = awscdk.Duration_Seconds(jsii.Number(30))
	}
	if a.HealthCheckGracePeriod == nil {
		a.HealthCheckGracePeriod = awscdk.Duration_Seconds(jsii.Number(180))
	}
	d := &p.Database
	setString(&d.Image, DefaultDatabaseImage)
	setString(&d.Name, "qa_server")
	setString(&d.User, "qa")
	setInt(&d.Cpu, 512)
	setInt(&d.MemoryMiB, 1024)
	setString(&d.DataPath, "/var/lib/mysql")
	if p.LogRetention == "" {
		p.LogRetention = awslogs.RetentionDays_ONE_MONTH
	}
	return &p
}

func (p *ServiceProps) check() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if p.Vpc == nil || p.Storage == nil || p.Namespace == "" {
		add("Vpc, Storage and Namespace are required")
	}
	if p.CertificateArn == "" && p.Domain == nil {
		add("CertificateArn is required without Domain")
	} else if p.CertificateArn != "" {
		if why := awsrules.ACMCertificateARN(p.CertificateArn, "", ""); why != "" {
			add("CertificateArn %q %s", p.CertificateArn, why)
		}
	}
	for name, cm := range map[string][2]int{"App": {p.App.Cpu, p.App.MemoryMiB}, "Database": {p.Database.Cpu, p.Database.MemoryMiB}} {
		if why := awsrules.ECSTaskSize(cm[0], cm[1], p.Fargate); why != "" {
			add("%s: %s", name, why)
		}
	}
	if p.App.DesiredCount < 1 || p.App.MaxCount < p.App.DesiredCount {
		add("App.DesiredCount %d and MaxCount %d must satisfy 1 <= desired <= max", p.App.DesiredCount, p.App.MaxCount)
	}
	if !p.Fargate {
		if why := awsrules.EC2InstanceType(p.InstanceType); why != "" {
			add("InstanceType %q %s", p.InstanceType, why)
		}
		if p.MinInstances < 0 || p.MinInstances > p.MaxInstances || p.MaxInstances < 1 {
			add("MinInstances %d and MaxInstances %d must satisfy 0 <= min <= max, max >= 1", p.MinInstances, p.MaxInstances)
		}
	}
	if p.Sync != nil {
		if p.Sync.Source == nil {
			add("Sync.Source is required")
		}
		if why := awsrules.ScheduleExpression(p.Sync.Schedule); p.Sync.Schedule != "" && why != "" {
			add("Sync.Schedule %q %s", p.Sync.Schedule, why)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func setString(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

func setInt(i *int, def int) {
	if *i == 0 {
		*i = def
	}
}
