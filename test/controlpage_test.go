package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/auth"
	"github.com/stratolab/stratolab/constructs/controlpage"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	page "github.com/stratolab/stratolab/internal/controlpage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeBootstrap is a stand-in for the page's Lambda binary, so that these tests build no Go.
func fakeBootstrap(t *testing.T) awslambda.Code {
	dir := filepath.Join(outRoot, "controlpage-code")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755))
	return awslambda.Code_FromAsset(jsii.String(dir), nil)
}

// controlPageAlone builds the construct on an auth pool in an app of its own, with cdk-nag, as another
// app would use it.
func controlPageAlone(t *testing.T, mutate func(awscdk.Stack, *controlpage.Props)) (awscdk.Stack, *controlpage.Page, []string) {
	t.Helper()
	app := newApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Control"), &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("eu-west-1")}})
	a := auth.New(stack, "Auth", &auth.Props{DomainPrefix: "physics-101", Lifecycle: lifecycle.Development()})
	props := &controlpage.Props{
		UserPool: a.UserPool, HostedUIURL: a.BaseURL, Environments: []string{"staging", "training"},
		Code: fakeBootstrap(t), Lifecycle: lifecycle.Development(),
		Statements: []awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("StartRuns"), Actions: jsii.Strings("states:StartExecution"),
			Resources: jsii.Strings("arn:aws:states:eu-west-1:123456789012:stateMachine:physics-101-control-staging"),
		})},
	}
	if mutate != nil {
		mutate(stack, props)
	}
	p := controlpage.New(stack, "Page", props)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	_, violations := synthApp(app)
	return stack, p, violations
}

var controlPageCache struct {
	sync.Mutex
	tpl assertions.Template
	m   map[string]any
}

// controlPageTemplate is the default construct's template, synthesized once per run (cdk-nag clean).
func controlPageTemplate(t *testing.T) (assertions.Template, map[string]any) {
	t.Helper()
	c := &controlPageCache
	c.Lock()
	defer c.Unlock()
	if c.tpl == nil {
		stack, _, violations := controlPageAlone(t, nil)
		require.Empty(t, violations, "cdk-nag AwsSolutions errors")
		c.tpl = template(stack)
		raw, _ := json.Marshal(c.tpl.ToJSON())
		require.NoError(t, json.Unmarshal(raw, &c.m))
	}
	return c.tpl, c.m
}

// routesOf returns each route key with its authorization type and scopes.
func routesOf(tpl map[string]any) map[string]string {
	out := map[string]string{}
	for _, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::ApiGatewayV2::Route" {
			continue
		}
		p := res["Properties"].(map[string]any)
		desc, _ := p["AuthorizationType"].(string)
		if s, ok := p["AuthorizationScopes"].([]any); ok {
			desc += " " + asJSON(s)
		}
		out[p["RouteKey"].(string)] = desc
	}
	return out
}

// TestControlPageRoutesNeedTheJWTAuthorizerForTheAPIOnly: /api/ routes need the JWT authorizer and the
// openid scope (API Gateway's advice: scopes tell access tokens from ID tokens); the page's own files,
// its login configuration and $default are public.
func TestControlPageRoutesNeedTheJWTAuthorizerForTheAPIOnly(t *testing.T) {
	_, tpl := controlPageTemplate(t)
	assert.Equal(t, map[string]string{
		"GET /api/{proxy+}":  `JWT ["openid"]`,
		"POST /api/{proxy+}": `JWT ["openid"]`,
		"GET /":              "NONE",
		"GET /app.js":        "NONE",
		"GET /style.css":     "NONE",
		"GET /config.json":   "NONE",
		"$default":           "NONE",
	}, routesOf(tpl))
}

// TestControlPageAuthorizerTrustsThePoolForThePageClient: the JWT authorizer's issuer is the pool's
// (https://cognito-idp.<region>.amazonaws.com/<pool id>, the CfnAuthorizer JwtConfiguration rule) and its
// audience the page's client: Cognito access tokens carry no aud, and API Gateway then compares
// client_id with the audience (API Gateway developer guide, http-api-troubleshooting-jwt).
func TestControlPageAuthorizerTrustsThePoolForThePageClient(t *testing.T) {
	tplA, _ := controlPageTemplate(t)
	tplA.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Authorizer"), jsii.Number(1))
	tplA.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
		"AuthorizerType": "JWT",
		"IdentitySource": []any{"$request.header.Authorization"},
		"JwtConfiguration": map[string]any{
			"Audience": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^PageClient"))}},
			"Issuer": map[string]any{"Fn::Join": []any{"", []any{
				"https://cognito-idp.eu-west-1.amazonaws.com/", map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^AuthUserPool"))}}}},
		},
	})
}

// TestControlPageClientIsPublicCodeGrantOnly: no secret, the code grant only (no implicit, no client
// credentials, no password flows), openid email profile, the page's address as callback and sign-out
// URL, and only Cognito's own users.
func TestControlPageClientIsPublicCodeGrantOnly(t *testing.T) {
	tplA, tpl := controlPageTemplate(t)
	clients := map[string]map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] == "AWS::Cognito::UserPoolClient" && strings.HasPrefix(id, "PageClient") {
			clients[id] = r.(map[string]any)["Properties"].(map[string]any)
		}
	}
	require.Len(t, clients, 1)
	for _, c := range clients {
		assert.Equal(t, false, c["GenerateSecret"])
		assert.Equal(t, []any{"code"}, c["AllowedOAuthFlows"])
		assert.Equal(t, true, c["AllowedOAuthFlowsUserPoolClient"])
		scopes := []string{}
		for _, s := range c["AllowedOAuthScopes"].([]any) {
			scopes = append(scopes, s.(string))
		}
		sort.Strings(scopes)
		assert.Equal(t, []string{"email", "openid", "profile"}, scopes)
		assert.Equal(t, []any{"COGNITO"}, c["SupportedIdentityProviders"])
		assert.Equal(t, []any{"ALLOW_REFRESH_TOKEN_AUTH"}, c["ExplicitAuthFlows"], "no password or SRP flows outside the hosted UI")
		assert.Regexp(t, `^\[\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["PageApi[0-9A-F]+","ApiEndpoint"\]\},"/"\]\]\}\]$`, asJSON(c["CallbackURLs"]),
			"the callback is the API's endpoint plus /, and nothing else")
		assert.Equal(t, asJSON(c["CallbackURLs"]), asJSON(c["LogoutURLs"]))
	}
	// The function learns the same address and client.
	tplA.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
		"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap",
		"Environment": map[string]any{"Variables": map[string]any{
			page.EnvClientID:    map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^PageClient"))},
			page.EnvWatchAll:    "false",
			page.EnvPageURL:     assertions.Match_AnyValue(),
			page.EnvHostedUIURL: assertions.Match_AnyValue(),
		}},
	})
}

// TestControlPageGroupsOnePerEnvironment: control-<env> for each environment, on the pool.
func TestControlPageGroupsOnePerEnvironment(t *testing.T) {
	tplA, _ := controlPageTemplate(t)
	tplA.ResourceCountIs(jsii.String("AWS::Cognito::UserPoolGroup"), jsii.Number(2))
	for _, env := range []string{"staging", "training"} {
		tplA.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolGroup"), map[string]any{
			"GroupName":  page.Group(env),
			"UserPoolId": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^AuthUserPool"))},
		})
	}
}

// TestControlPageStageLogsAndThrottles: the $default stage deploys itself, throttles, and writes access
// logs without the path or query (the callback's code) or any header.
func TestControlPageStageLogsAndThrottles(t *testing.T) {
	tplA, _ := controlPageTemplate(t)
	tplA.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Stage"), jsii.Number(1))
	tplA.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
		"StageName": "$default", "AutoDeploy": true,
		"DefaultRouteSettings": map[string]any{"ThrottlingRateLimit": 10, "ThrottlingBurstLimit": 20},
		"AccessLogSettings": map[string]any{
			"DestinationArn": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^PageAccessLogs")), "Arn"}},
			"Format":         controlpage.AccessLogFormat,
		},
	})
	for _, leak := range []string{"$context.path", "querystring", "header", "$context.authorizer.claims.sub"} {
		assert.NotContains(t, strings.ToLower(controlpage.AccessLogFormat), strings.ToLower(leak))
	}
	tplA.ResourceCountIs(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), jsii.Number(0))
}

// TestControlPageRoleWritesItsLogsAndTheGivenStatementsOnly.
func TestControlPageRoleWritesItsLogsAndTheGivenStatementsOnly(t *testing.T) {
	_, tpl := controlPageTemplate(t)
	var actions []string
	for _, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::IAM::Policy" {
			continue
		}
		for _, s := range res["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			switch a := s.(map[string]any)["Action"].(type) {
			case string:
				actions = append(actions, a)
			case []any:
				for _, x := range a {
					actions = append(actions, x.(string))
				}
			}
		}
	}
	sort.Strings(actions)
	assert.Equal(t, []string{"logs:CreateLogStream", "logs:PutLogEvents", "states:StartExecution"}, actions)
	assert.NotContains(t, asJSON(tpl["Resources"]), "arn:aws:iam::aws:policy/", "no managed policies")
}

// TestControlPageEnvVarsMatchTheHandler: the construct sets the variables the handler reads.
func TestControlPageEnvVarsMatchTheHandler(t *testing.T) {
	assert.Equal(t, page.EnvPageURL, controlpage.EnvPageURL)
	assert.Equal(t, page.EnvHostedUIURL, controlpage.EnvHostedUIURL)
	assert.Equal(t, page.EnvClientID, controlpage.EnvClientID)
	assert.Equal(t, page.EnvWatchAll, controlpage.EnvWatchAll)
	assert.Equal(t, page.GroupPrefix, controlpage.GroupPrefix)
}

// TestControlPageCustomDomainAndWatchers: PageURL replaces the API's address in the client and the
// function; WatchAll reaches the function.
func TestControlPageCustomDomainAndWatchers(t *testing.T) {
	stack, _, violations := controlPageAlone(t, func(_ awscdk.Stack, p *controlpage.Props) {
		p.PageURL = "https://control.example.edu/"
		p.ExtraCallbackURLs = []string{"http://localhost:8080/"}
		p.WatchAll = true
	})
	require.Empty(t, violations)
	tpl := template(stack)
	tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), map[string]any{
		"CallbackURLs": []any{"https://control.example.edu/", "http://localhost:8080/"},
		"LogoutURLs":   []any{"https://control.example.edu/", "http://localhost:8080/"},
	})
	tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
		"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
			page.EnvPageURL: "https://control.example.edu/", page.EnvWatchAll: "true"})},
	})
}

// TestControlPageRejectsBadProps: every problem is named at once, before anything is created.
func TestControlPageRejectsBadProps(t *testing.T) {
	for name, c := range map[string]struct {
		props controlpage.Props
		want  []string
	}{
		"nothing":                  {controlpage.Props{}, []string{"UserPool is required", "HostedUIURL is required", "Code is required", "at least one environment"}},
		"bad and duplicate env":    {controlpage.Props{Environments: []string{"Staging", "a", "a"}}, []string{`environment "Staging"`, `"a" is listed twice`}},
		"http page URL":            {controlpage.Props{Environments: []string{"a"}, PageURL: "http://control.example.edu/"}, []string{"must use https://"}},
		"page URL without slash":   {controlpage.Props{Environments: []string{"a"}, PageURL: "https://control.example.edu"}, []string{"must end with /"}},
		"relative extra callback":  {controlpage.Props{Environments: []string{"a"}, ExtraCallbackURLs: []string{"/cb"}}, []string{"is not an absolute URL"}},
		"burst over account limit": {controlpage.Props{Environments: []string{"a"}, ThrottleBurst: 6000}, []string{"ThrottleBurst 6000"}},
		"domain without certificate or zone": {controlpage.Props{Environments: []string{"a"}, Domain: &controlpage.Domain{Name: "control.example.edu"}},
			[]string{"Domain needs a CertificateArn or a Zone"}},
		"domain name as a URL": {controlpage.Props{Environments: []string{"a"}, Domain: &controlpage.Domain{Name: "https://control.example.edu", CertificateArn: pageCert}},
			[]string{`Domain.Name "https://control.example.edu" is not a host name`}},
		"domain and another page URL": {controlpage.Props{Environments: []string{"a"}, PageURL: "https://other.example.edu/", Domain: &controlpage.Domain{Name: "control.example.edu", CertificateArn: pageCert}},
			[]string{`PageURL "https://other.example.edu/" is not https://control.example.edu/`}},
		"domain certificate not an ACM ARN": {controlpage.Props{Environments: []string{"a"}, Domain: &controlpage.Domain{Name: "control.example.edu", CertificateArn: "arn:aws:iam::123456789012:server-certificate/x"}},
			[]string{"Domain.CertificateArn"}},
	} {
		t.Run(name, func(t *testing.T) {
			app := newApp(nil)
			stack := awscdk.NewStack(app, jsii.String("S"), nil)
			props := c.props
			msg := panicMessage(func() { controlpage.New(stack, "Page", &props) })
			assert.Contains(t, msg, "controlpage Page:")
			for _, w := range c.want {
				assert.Contains(t, msg, w)
			}
			assert.Empty(t, *stack.Node().Children(), "nothing is created")
		})
	}
}

// TestSnapshotsControlPageConstruct compares the construct's template with
// testdata/constructs/controlpage.json (it is in no stack yet; `make snapshot` rewrites it).
func TestSnapshotsControlPageConstruct(t *testing.T) {
	_, tpl := controlPageTemplate(t)
	got := snapshot(t, tpl)
	file := filepath.Join("testdata", "constructs", "controlpage.json")
	if updating {
		require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
		require.NoError(t, os.WriteFile(file, got, 0o644))
		return
	}
	want, err := os.ReadFile(file)
	require.NoError(t, err, "run `make snapshot` and review it")
	assert.Equal(t, string(want), string(got), "the control page construct differs from %s (run `make snapshot` if intended)", file)
}

// Example_controlPageInAnotherApp: the construct needs nothing but props: a pool, its hosted UI, the
// environments and the function's code.
func Example_controlPageInAnotherApp() {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outRoot + "/example-controlpage"), AnalyticsReporting: jsii.Bool(false)})
	stack := awscdk.NewStack(app, jsii.String("Control"), nil)
	a := auth.New(stack, "Auth", &auth.Props{DomainPrefix: "physics-101"})
	dir := filepath.Join(outRoot, "example-controlpage-code")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755)
	p := controlpage.New(stack, "Page", &controlpage.Props{
		UserPool: a.UserPool, HostedUIURL: a.BaseURL, Environments: []string{"staging"},
		Code: awslambda.Code_FromAsset(jsii.String(dir), nil),
	})
	app.Synth(nil)
	fmt.Println(len(p.Groups), *p.Groups["staging"].GroupName())
	// Output: 1 control-staging
}

// pageCert is a certificate of control.example.edu in controlPageAlone's account and region.
const pageCert = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab"

// TestControlPageDomainIsARegionalTLS12NameMappedToTheStage: an HTTP API's custom domain is regional,
// takes its ACM certificate from the API's region, and supports TLS 1.2 only (API Gateway developer
// guide, "Setting up custom domain names for HTTP APIs": "For HTTP APIs, TLS 1.2 is the only supported
// TLS version"; "Choose a security policy": an HTTP API cannot be mapped to a domain with an enhanced
// SecurityPolicy_* policy; knowledge center "custom domain name": "Regional custom domain names must use
// an SSL/TLS certificate that's in the same AWS Region as your API"). With a zone, the construct makes
// the certificate in its own stack (the API's region), validated by DNS in the zone, maps the domain to
// the $default stage, and points an alias A record at the domain's regional name (Route 53 alias to an
// API Gateway domain: its RegionalDomainName and RegionalHostedZoneId). The login comes back to the
// custom URL only, and the execute-api endpoint is off.
func TestControlPageDomainIsARegionalTLS12NameMappedToTheStage(t *testing.T) {
	stack, pg, violations := controlPageAlone(t, func(s awscdk.Stack, p *controlpage.Props) {
		p.Domain = &controlpage.Domain{Name: "control.example.edu", Zone: awsroute53.HostedZone_FromHostedZoneAttributes(s, jsii.String("Zone"),
			&awsroute53.HostedZoneAttributes{HostedZoneId: jsii.String("Z0123456789ABCDEFGHIJ"), ZoneName: jsii.String("example.edu")})}
	})
	require.Empty(t, violations, "cdk-nag AwsSolutions errors")
	assert.Equal(t, "https://control.example.edu/", *pg.URL)
	tpl := template(stack)
	assert.Equal(t, "eu-west-1", *stack.Region(), "the certificate is made in the API's own stack, so in its region")
	tpl.ResourceCountIs(jsii.String("AWS::CertificateManager::Certificate"), jsii.Number(1))
	tpl.HasResource(jsii.String("AWS::CertificateManager::Certificate"), map[string]any{
		"Properties": map[string]any{
			"DomainName": "control.example.edu", "ValidationMethod": "DNS",
			"DomainValidationOptions": []any{map[string]any{"DomainName": "control.example.edu", "HostedZoneId": "Z0123456789ABCDEFGHIJ"}},
		},
		"DeletionPolicy": "Delete",
	})
	tpl.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::DomainName"), jsii.Number(1))
	tpl.HasResource(jsii.String("AWS::ApiGatewayV2::DomainName"), map[string]any{
		"Properties": map[string]any{
			"DomainName": "control.example.edu",
			"DomainNameConfigurations": []any{map[string]any{
				"CertificateArn": ref("PageDomainCertificate"), "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2",
			}},
		},
		"DeletionPolicy": "Delete",
	})
	// The mapping names the stage, and waits for it: a mapping to a stage not yet made fails.
	tpl.HasResource(jsii.String("AWS::ApiGatewayV2::ApiMapping"), map[string]any{
		"Properties": map[string]any{"ApiId": ref("PageApi"), "DomainName": ref("PageDomainName"), "Stage": "$default"},
		"DependsOn":  []any{assertions.Match_StringLikeRegexp(jsii.String("^PageApiDefaultStage"))},
	})
	tpl.HasResourceProperties(jsii.String("AWS::Route53::RecordSet"), map[string]any{
		"Name": "control.example.edu.", "Type": "A", "HostedZoneId": "Z0123456789ABCDEFGHIJ",
		"AliasTarget": map[string]any{
			"DNSName":      map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^PageDomainName")), "RegionalDomainName"}},
			"HostedZoneId": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^PageDomainName")), "RegionalHostedZoneId"}},
		},
	})
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{"DisableExecuteApiEndpoint": true})
	tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), map[string]any{
		"CallbackURLs": []any{"https://control.example.edu/"}, "LogoutURLs": []any{"https://control.example.edu/"},
	})
	tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
		"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{page.EnvPageURL: "https://control.example.edu/"})},
	})
}

// TestControlPageDomainWithACertificateOfYourOwn: a given certificate ARN is used as it is, and without
// a zone there is no record (the caller points a CNAME at the domain's regional name).
func TestControlPageDomainWithACertificateOfYourOwn(t *testing.T) {
	stack, pg, violations := controlPageAlone(t, func(_ awscdk.Stack, p *controlpage.Props) {
		p.Domain = &controlpage.Domain{Name: "control.example.edu", CertificateArn: pageCert}
	})
	require.Empty(t, violations)
	tpl := template(stack)
	tpl.ResourceCountIs(jsii.String("AWS::CertificateManager::Certificate"), jsii.Number(0))
	tpl.ResourceCountIs(jsii.String("AWS::Route53::RecordSet"), jsii.Number(0))
	assert.Nil(t, pg.Record)
	assert.Nil(t, pg.Certificate)
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::DomainName"), map[string]any{
		"DomainNameConfigurations": []any{map[string]any{"CertificateArn": pageCert, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}},
	})
}

// TestControlPageWithoutDomainKeepsItsExecuteAPIAddress: no domain, no certificate, and the
// execute-api endpoint is the page's address.
func TestControlPageWithoutDomainKeepsItsExecuteAPIAddress(t *testing.T) {
	tpl, _ := controlPageTemplate(t)
	tpl.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::DomainName"), jsii.Number(0))
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{"DisableExecuteApiEndpoint": assertions.Match_Absent()})
}
