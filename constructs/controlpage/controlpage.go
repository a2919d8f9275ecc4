// Package controlpage serves the control page (internal/controlpage) at zero idle cost: an API
// Gateway HTTP API in front of one Go Lambda function, with the page's Cognito login.
//
// New creates, on the instance's existing user pool:
//   - a public user pool client for the page (no secret, authorization code grant only, PKCE is done
//     by the page, scopes openid, email and profile, the page's address as callback and sign-out URL);
//   - a Cognito group control-<env> per environment: its members may start and stop <env>;
//   - the HTTP API with a JWT authorizer (issuer https://cognito-idp.<region>.amazonaws.com/<pool id>,
//     audience the page's client, which Cognito access tokens carry as client_id) on the routes
//     GET and POST /api/{proxy+}, which also require the openid scope so that only access tokens pass;
//     the page itself (GET /, /app.js, /style.css, /config.json) and $default (the handler's own 404,
//     with its security headers) are public;
//   - the $default stage with throttling and JSON access logs into a log group of its own (no query
//     string, no header, so no token or authorization code is ever logged);
//   - the function (provided.al2023), from the Code the caller builds, with a role that may write its
//     own log group plus the Statements the caller adds (what the control module's Service calls);
//   - with Domain, an API Gateway regional custom domain (TLS 1.2) mapped to the $default stage, its
//     certificate (DNS-validated in Domain.Zone unless Domain.CertificateArn is given) and an alias A
//     record in the zone; the execute-api endpoint is then turned off, so the page has one address.
//
// Nothing runs while nobody looks: no load balancer, no instance, no provisioned concurrency.
package controlpage

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/constructs/webfront"
	"github.com/stratolab/stratolab/internal/awsrules"
)

// The function's environment variables, which internal/controlpage.PageFromEnv reads.
const (
	EnvPageURL     = "CONTROL_PAGE_URL"
	EnvHostedUIURL = "CONTROL_HOSTED_UI_URL"
	EnvClientID    = "CONTROL_CLIENT_ID"
	EnvWatchAll    = "CONTROL_WATCH_ALL"
)

// GroupPrefix names the group that may start and stop an environment: control-<env>.
const GroupPrefix = "control-"

// Props configure the page.
type Props struct {
	// UserPool is the instance's Cognito pool (auth.Auth.UserPool). Required.
	UserPool awscognito.IUserPool
	// HostedUIURL is the pool's hosted UI, https://<prefix>.auth.<region>.amazoncognito.com
	// (auth.Auth.BaseURL), where the page sends users to log in. Required.
	HostedUIURL *string
	// Environments are the control module's environment names, in config order: lowercase letters,
	// digits and dashes, starting with a letter. Each gets the group control-<env>. Required, at least one.
	Environments []string
	// Code is the Lambda function's code: a provided.al2023 bootstrap that serves
	// internal/controlpage.LambdaHandler over the control module's controlapi.Service (build it with
	// internal/lambdaasset). Required.
	Code awslambda.Code
	// Architecture of Code.
	// Default: - awslambda.Architecture_ARM_64()
	Architecture awslambda.Architecture
	// Statements are added to the function's role: what the control module's Service needs (starting
	// its state machines, reading their executions, describing the targets). Keep them to this
	// instance's resources.
	// Default: - none: the role may only write its own logs
	Statements []awsiam.PolicyStatement
	// Environment holds extra variables for the function (state machine ARNs, the run table's name).
	// Default: - only the page's own (EnvPageURL, EnvHostedUIURL, EnvClientID, EnvWatchAll)
	Environment map[string]*string
	// WatchAll lets every logged-in user of the pool watch every environment (without buttons).
	// Default: - false: only members of control-<env> see <env>
	WatchAll bool
	// PageURL is the page's address when something else fronts the API (a proxy of your own), such as
	// https://control.example.edu/. It must be https (http only for localhost) and end with /.
	// Default: - https://<Domain.Name>/ with Domain, else the API's own endpoint,
	// https://<api id>.execute-api.<region>.amazonaws.com/
	PageURL string
	// Domain serves the page on a host name of its own: an API Gateway regional custom domain name
	// mapped to the API's $default stage, and the page's address becomes https://<Domain.Name>/.
	// Default: - the execute-api endpoint
	Domain *Domain
	// ExtraCallbackURLs are further callback and sign-out URLs of the client, such as
	// http://localhost:8080/ for a developer.
	// Default: - none
	ExtraCallbackURLs []string
	// ThrottleRate and ThrottleBurst bound the stage's steady request rate (per second) and burst.
	// Default: - 10 requests a second, bursts of 20
	ThrottleRate, ThrottleBurst float64
	// LogRetention of the function's and the access logs.
	// Default: - awslogs.RetentionDays_THREE_MONTHS
	LogRetention awslogs.RetentionDays
	// Lifecycle decides whether the log groups outlive the stack.
	// Default: - lifecycle.Production(): retained
	Lifecycle lifecycle.Policy
}

// Domain is the page's own host name.
type Domain struct {
	// Name is the host name, such as control.example.edu. Required.
	Name string
	// CertificateArn is an ACM certificate of Name in the stack's account and region (a regional custom
	// domain takes its certificate from the API's own region).
	// Default: - a DNS-validated certificate of Name in Zone (Zone is then required)
	CertificateArn string
	// Zone is the public hosted zone Name is in: the alias A record to the domain name goes there.
	// Default: - no record: point a CNAME of Name at Page.DomainName's RegionalDomainName yourself
	Zone awsroute53.IHostedZone
}

// Page is the control page's API, function, client and groups.
type Page struct {
	constructs.Construct
	// Api is the HTTP API.
	Api awsapigatewayv2.HttpApi
	// Function serves the page and its JSON API.
	Function awslambda.Function
	// Role is the function's role; grant it what the control module's Service calls.
	Role awsiam.Role
	// Client is the page's public user pool client.
	Client awscognito.UserPoolClient
	// Groups are the control-<env> groups by environment name.
	Groups map[string]awscognito.CfnUserPoolGroup
	// URL is the page's address (PageURL, or the API's endpoint with a trailing /).
	URL *string
	// AccessLogs is the API stage's access log group.
	AccessLogs awslogs.LogGroup
	// DomainName is the API's custom domain name; nil without Props.Domain.
	DomainName awsapigatewayv2.DomainName
	// Certificate is the certificate the construct made for Domain; nil otherwise.
	Certificate awscertificatemanager.ICertificate
	// Record is the alias A record of Domain.Name; nil without Domain.Zone.
	Record awsroute53.ARecord
}

var (
	envNameRe  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	hostNameRe = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$`)
)

func (p *Props) check() error {
	var errs []string
	if p.UserPool == nil {
		errs = append(errs, "UserPool is required (the instance's Cognito pool)")
	}
	if p.HostedUIURL == nil {
		errs = append(errs, "HostedUIURL is required (https://<prefix>.auth.<region>.amazoncognito.com)")
	}
	if p.Code == nil {
		errs = append(errs, "Code is required (the page's Lambda bootstrap, built by internal/lambdaasset)")
	}
	if len(p.Environments) == 0 {
		errs = append(errs, "Environments needs at least one environment name")
	}
	seen := map[string]bool{}
	for _, e := range p.Environments {
		if !envNameRe.MatchString(e) {
			errs = append(errs, fmt.Sprintf("environment %q: want lowercase letters, digits and dashes, starting with a letter, at most 63 characters", e))
		}
		if seen[e] {
			errs = append(errs, fmt.Sprintf("environment %q is listed twice", e))
		}
		seen[e] = true
	}
	if d := p.Domain; d != nil {
		switch {
		case !hostNameRe.MatchString(d.Name):
			errs = append(errs, fmt.Sprintf("Domain.Name %q is not a host name (lowercase, such as control.example.edu, no scheme)", d.Name))
		case p.PageURL != "" && p.PageURL != "https://"+d.Name+"/":
			errs = append(errs, fmt.Sprintf("PageURL %q is not https://%s/, the address Domain gives the page (leave PageURL out)", p.PageURL, d.Name))
		}
		if d.CertificateArn == "" && d.Zone == nil {
			errs = append(errs, "Domain needs a CertificateArn or a Zone (to validate the certificate the construct makes)")
		}
		if d.CertificateArn != "" {
			if why := awsrules.ACMCertificateARN(d.CertificateArn, "", ""); why != "" {
				errs = append(errs, fmt.Sprintf("Domain.CertificateArn %q %s", d.CertificateArn, why))
			}
		}
	}
	urls := append([]string(nil), p.ExtraCallbackURLs...)
	if p.PageURL != "" {
		urls = append(urls, p.PageURL)
		if !strings.HasSuffix(p.PageURL, "/") {
			errs = append(errs, fmt.Sprintf("PageURL %q must end with / (the page is served at the root)", p.PageURL))
		}
	}
	for _, u := range urls {
		if why := awsrules.OAuthCallbackURL(u); why != "" {
			errs = append(errs, fmt.Sprintf("URL %q %s", u, why))
		}
	}
	if p.ThrottleRate < 0 || p.ThrottleBurst < 0 || p.ThrottleBurst > 5000 {
		errs = append(errs, fmt.Sprintf("ThrottleRate %v and ThrottleBurst %v: want 0 (the default) or more, a burst of at most 5000 (API Gateway's account limit)", p.ThrottleRate, p.ThrottleBurst))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// publicRoutes are served without a token: the page, its assets and its login configuration.
var publicRoutes = []string{"/", "/app.js", "/style.css", "/config.json"}

// New creates the page. It panics, before creating anything, when the props are invalid.
func New(scope constructs.Construct, id string, p *Props) *Page {
	if p == nil {
		p = &Props{}
	}
	if err := p.check(); err != nil {
		panic(fmt.Sprintf("controlpage %s: %v", id, err))
	}
	policy := p.Lifecycle.OrDefault()
	retention := p.LogRetention
	if retention == "" {
		retention = awslogs.RetentionDays_THREE_MONTHS
	}
	arch := p.Architecture
	if arch == nil {
		arch = awslambda.Architecture_ARM_64()
	}
	rate, burst := p.ThrottleRate, p.ThrottleBurst
	if rate == 0 {
		rate = 10
	}
	if burst == 0 {
		burst = 20
	}
	c := &Page{Construct: constructs.NewConstruct(scope, jsii.String(id)), Groups: map[string]awscognito.CfnUserPoolGroup{}}
	self := c.Construct
	stack := awscdk.Stack_Of(self)

	apiProps := &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("stratolab control page"),
		CreateDefaultStage: jsii.Bool(false),
	}
	if p.Domain != nil {
		// With a custom domain the page has one address: the client's callback and sign-out URL is
		// https://<Domain.Name>/ only, so a login started on the execute-api address could not come
		// back to it, and a second address would only be a second way in around the name's DNS.
		apiProps.DisableExecuteApiEndpoint = jsii.Bool(true)
	}
	c.Api = awsapigatewayv2.NewHttpApi(self, jsii.String("Api"), apiProps)
	c.URL = jsii.String(p.PageURL)
	switch {
	case p.Domain != nil:
		c.URL = jsii.String("https://" + p.Domain.Name + "/")
	case p.PageURL == "":
		c.URL = awscdk.Fn_Join(jsii.String(""), &[]*string{c.Api.ApiEndpoint(), jsii.String("/")})
	}

	urls := append([]*string{c.URL}, *jsii.Strings(p.ExtraCallbackURLs...)...)
	c.Client = awscognito.NewUserPoolClient(self, jsii.String("Client"), &awscognito.UserPoolClientProps{
		UserPool:       p.UserPool,
		GenerateSecret: jsii.Bool(false), // a public client: the page runs in the browser, PKCE protects the code
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(), awscognito.OAuthScope_PROFILE()},
			CallbackUrls: &urls,
			LogoutUrls:   &urls,
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
		// No direct password flows: users log in through the hosted UI only.
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(false), UserPassword: jsii.Bool(false), AdminUserPassword: jsii.Bool(false), Custom: jsii.Bool(false)},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		AccessTokenValidity:        awscdk.Duration_Minutes(jsii.Number(60)),
		IdTokenValidity:            awscdk.Duration_Minutes(jsii.Number(60)),
		RefreshTokenValidity:       awscdk.Duration_Hours(jsii.Number(12)),
	})

	for _, env := range p.Environments {
		c.Groups[env] = awscognito.NewCfnUserPoolGroup(self, jsii.String("Group-"+env), &awscognito.CfnUserPoolGroupProps{
			UserPoolId:  p.UserPool.UserPoolId(),
			GroupName:   jsii.String(GroupPrefix + env),
			Description: jsii.String("May start and stop the " + env + " environment from the control page"),
		})
	}

	c.Role = awsiam.NewRole(self, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("stratolab control page"),
	})
	fnLogs := awslogs.NewLogGroup(self, jsii.String("FunctionLogs"), &awslogs.LogGroupProps{Retention: retention, RemovalPolicy: policy.RemovalPolicy})
	fnLogs.GrantWrite(c.Role)
	for _, s := range p.Statements {
		c.Role.AddToPrincipalPolicy(s)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c.Role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Log streams are created at run time: logs:CreateLogStream and logs:PutLogEvents are on this function's own log group " +
			"(<group>:*) only; the control module's statements added through Props.Statements are its own, scoped to this instance."),
	}}, jsii.Bool(true))

	env := map[string]*string{
		EnvPageURL:     c.URL,
		EnvHostedUIURL: p.HostedUIURL,
		EnvClientID:    c.Client.UserPoolClientId(),
		EnvWatchAll:    jsii.String(fmt.Sprint(p.WatchAll)),
	}
	keys := make([]string, 0, len(p.Environment))
	for k := range p.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, clash := env[k]; clash {
			panic(fmt.Sprintf("controlpage %s: Environment %s is the page's own variable", id, k))
		}
		env[k] = p.Environment[k]
	}
	c.Function = awslambda.NewFunction(self, jsii.String("Function"), &awslambda.FunctionProps{
		Description:  jsii.String("stratolab control page and its JSON API"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: arch,
		Handler:      jsii.String("bootstrap"),
		Code:         p.Code,
		Role:         c.Role,
		LogGroup:     fnLogs,
		MemorySize:   jsii.Number(256),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(25)), // under the HTTP API's 30 s integration limit
		Environment:  &env,
	})

	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Integration"), c.Function,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0()})
	authorizer := awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("Authorizer"),
		jsii.String(fmt.Sprintf("https://cognito-idp.%s.amazonaws.com/%s", *stack.Region(), *p.UserPool.UserPoolId())),
		&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
			AuthorizerName: jsii.String("cognito"),
			// Cognito access tokens have no aud; API Gateway then checks client_id against the audience.
			JwtAudience:    jsii.Strings(*c.Client.UserPoolClientId()),
			IdentitySource: jsii.Strings("$request.header.Authorization"),
		})
	for _, m := range []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST} {
		c.Api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path: jsii.String("/api/{proxy+}"), Methods: &[]awsapigatewayv2.HttpMethod{m}, Integration: integration,
			Authorizer: authorizer, AuthorizationScopes: jsii.Strings("openid"),
		})
	}
	var public []constructs.IConstruct
	for _, path := range publicRoutes {
		for _, r := range *c.Api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path: jsii.String(path), Methods: &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET}, Integration: integration,
		}) {
			public = append(public, r)
		}
	}
	def := awsapigatewayv2.NewHttpRoute(self, jsii.String("DefaultRoute"), &awsapigatewayv2.HttpRouteProps{
		HttpApi: c.Api, RouteKey: awsapigatewayv2.HttpRouteKey_DEFAULT(), Integration: integration,
	})
	public = append(public, def)
	for _, r := range public {
		cdknag.NagSuppressions_AddResourceSuppressions(r, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-APIG4"),
			Reason: jsii.String("The page's public part: its HTML, script, style and login configuration (client ID and hosted UI endpoints, no secret), " +
				"and $default, which answers 404. Every /api/ route requires the Cognito JWT authorizer and the openid scope."),
		}}, jsii.Bool(true))
	}

	c.AccessLogs = awslogs.NewLogGroup(self, jsii.String("AccessLogs"), &awslogs.LogGroupProps{Retention: retention, RemovalPolicy: policy.RemovalPolicy})
	stage := c.Api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle:   &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(rate), BurstLimit: jsii.Number(burst)},
	})
	cfnStage := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfnStage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: c.AccessLogs.LogGroupArn(),
		Format:         jsii.String(AccessLogFormat),
	})
	if p.Domain != nil {
		c.addDomain(p.Domain, stage)
	}
	return c
}

// addDomain puts the API on d.Name. API Gateway's rules (developer guide, "Setting up custom domain
// names for HTTP APIs" and "Choose a security policy"): an HTTP API's custom domain is regional, and a
// regional custom domain name takes its ACM certificate from the API's own region; HTTP APIs support
// TLS 1.2 only, so the domain's security policy is TLS_1_2 (the enhanced SecurityPolicy_* ones cannot
// have an HTTP API mapped). The certificate, domain name, mapping and record hold no data: they are
// deleted with the stack and replaced on a change of name, in every lifecycle, like the load
// balancers' front doors (webfront).
func (c *Page) addDomain(d *Domain, stage awsapigatewayv2.HttpStage) {
	self := c.Construct
	var cert awscertificatemanager.ICertificate
	if d.CertificateArn != "" {
		cert = awscertificatemanager.Certificate_FromCertificateArn(self, jsii.String("DomainCertificate"), jsii.String(d.CertificateArn))
	} else {
		cert = webfront.NewCertificate(self, "DomainCertificate", &webfront.Domain{Zone: d.Zone, Name: d.Name})
		c.Certificate = cert
	}
	c.DomainName = awsapigatewayv2.NewDomainName(self, jsii.String("DomainName"), &awsapigatewayv2.DomainNameProps{
		DomainName:     jsii.String(d.Name),
		Certificate:    cert,
		EndpointType:   awsapigatewayv2.EndpointType_REGIONAL,
		SecurityPolicy: awsapigatewayv2.SecurityPolicy_TLS_1_2,
	})
	c.DomainName.ApplyRemovalPolicy(awscdk.RemovalPolicy_DESTROY)
	mapping := awsapigatewayv2.NewApiMapping(self, jsii.String("DomainMapping"), &awsapigatewayv2.ApiMappingProps{
		Api: c.Api, DomainName: c.DomainName, Stage: stage,
	})
	mapping.ApplyRemovalPolicy(awscdk.RemovalPolicy_DESTROY)
	if d.Zone != nil {
		c.Record = awsroute53.NewARecord(self, jsii.String("DomainRecord"), &awsroute53.ARecordProps{
			Zone: d.Zone, RecordName: jsii.String(d.Name + "."),
			Target: awsroute53.RecordTarget_FromAlias(awsroute53targets.NewApiGatewayv2DomainProperties(
				c.DomainName.RegionalDomainName(), c.DomainName.RegionalHostedZoneId())),
			Comment: jsii.String("stratolab: the control page's API custom domain"),
		})
		c.Record.ApplyRemovalPolicy(awscdk.RemovalPolicy_DESTROY)
	}
}

// AccessLogFormat is the stage's access log line: the route (not the path with its query, which
// carries the authorization code on the callback), status, caller and timings, and the authorizer's
// error, never a header or a token.
const AccessLogFormat = `{"requestId":"$context.requestId","time":"$context.requestTime","ip":"$context.identity.sourceIp",` +
	`"method":"$context.httpMethod","route":"$context.routeKey","status":"$context.status","bytes":"$context.responseLength",` +
	`"latencyMs":"$context.responseLatency","user":"$context.authorizer.claims.username",` +
	`"authorizerError":"$context.authorizer.error","integrationError":"$context.integrationErrorMessage"}`
