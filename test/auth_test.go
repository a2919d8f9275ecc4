package test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/auth"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const authEnv = "env: {account: \"123456789012\", region: us-east-1}\nvpc: {availability_zones: [us-east-1a, us-east-1b]}\nenabled: {auth: true}\n"

func exampleAuth(t *testing.T) assertions.Template {
	return template(synth(t, "example").stack(t, "Auth"))
}

func TestAuthPoolPasswordMfaRecoveryAndSignIn(t *testing.T) {
	exampleAuth(t).HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
		"UserPoolName": "example-users",
		"Policies": map[string]any{"PasswordPolicy": map[string]any{
			"MinimumLength": 12, "RequireLowercase": true, "RequireUppercase": true, "RequireNumbers": true,
			"RequireSymbols": true, "TemporaryPasswordValidityDays": 3,
		}},
		"MfaConfiguration":            "OPTIONAL",
		"EnabledMfas":                 []any{"SOFTWARE_TOKEN_MFA"},
		"AccountRecoverySetting":      map[string]any{"RecoveryMechanisms": []any{map[string]any{"Name": "verified_email", "Priority": 1}}},
		"AutoVerifiedAttributes":      []any{"email"},
		"UsernameAttributes":          []any{"email"},
		"UsernameConfiguration":       map[string]any{"CaseSensitive": false},
		"AdminCreateUserConfig":       map[string]any{"AllowAdminCreateUserOnly": true},
		"UserPoolTier":                "PLUS",
		"UserPoolAddOns":              map[string]any{"AdvancedSecurityMode": "ENFORCED"},
		"EmailConfiguration":          map[string]any{"EmailSendingAccount": "COGNITO_DEFAULT"},
		"UserAttributeUpdateSettings": map[string]any{"AttributesRequireVerificationBeforeUpdate": []any{"email"}},
	})
}

func TestAuthPoolAttributes(t *testing.T) {
	exampleAuth(t).HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
		"Schema": []any{
			map[string]any{"Name": "email", "Required": true, "Mutable": true},
			map[string]any{"Name": "name", "Required": true, "Mutable": true},
			map[string]any{"Name": "access_code", "AttributeDataType": "String", "Mutable": false},
			map[string]any{"Name": "affiliation", "AttributeDataType": "String", "Mutable": true,
				"StringAttributeConstraints": map[string]any{"MaxLength": "256"}},
		},
	})
}

func TestAuthDomainGroupsAndOutputs(t *testing.T) {
	tpl := exampleAuth(t)
	tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolDomain"), map[string]any{"Domain": "stratolab-example-research-computing"})
	tpl.ResourceCountIs(jsii.String("AWS::Cognito::UserPoolGroup"), jsii.Number(3))
	tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolGroup"), map[string]any{
		"GroupName": "sudo", "Description": "Hub administrators", "Precedence": 0,
	})
	tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolGroup"), map[string]any{"GroupName": "gpu", "Precedence": 20})
	tpl.HasOutput(jsii.String("HostedUiUrl"), map[string]any{"Value": map[string]any{"Fn::Join": []any{"", []any{
		"https://", map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^AuthUserPoolDomain"))}, ".auth.us-east-1.amazoncognito.com"}}}})
	tpl.HasOutput(jsii.String("IssuerUrl"), map[string]any{"Value": map[string]any{"Fn::Join": []any{"", []any{
		"https://", map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^AuthUserPool")), "ProviderURL"}}}}}})
	tpl.HasOutput(jsii.String("UserPoolId"), map[string]any{"Value": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^AuthUserPool"))}})
}

func TestAuthClientUsesCodeGrantWithOpenIDScopesAndASecret(t *testing.T) {
	exampleAuth(t).HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), map[string]any{
		"ClientName":                      "portal",
		"GenerateSecret":                  true,
		"AllowedOAuthFlows":               []any{"code"},
		"AllowedOAuthFlowsUserPoolClient": true,
		"AllowedOAuthScopes":              []any{"openid", "email", "profile"},
		"CallbackURLs":                    []any{"https://portal.example.org/oauth2/idpresponse", "http://localhost:8080/callback"},
		"LogoutURLs":                      []any{"https://portal.example.org/"},
		"SupportedIdentityProviders":      []any{"COGNITO"},
		"PreventUserExistenceErrors":      "ENABLED",
		"EnableTokenRevocation":           true,
		"AccessTokenValidity":             60,
		"IdTokenValidity":                 60,
		"RefreshTokenValidity":            43200,
		"TokenValidityUnits":              map[string]any{"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"},
	})
}

func TestAuthIsDeletionProtectedAndRetainedInProduction(t *testing.T) {
	prod, _ := buildInstance(t, "prodauth", "lifecycle: production\n"+authEnv+"auth:\n  groups: [{name: sudo}, {name: gpu}]\n")
	tpl := template(prod.Auth.Stack)
	tpl.HasResource(jsii.String("AWS::Cognito::UserPool"), map[string]any{
		"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
		"Properties": map[string]any{"DeletionProtection": "ACTIVE"},
	})
	// F14: the groups (their memberships are users' access) and the domain prefix stay with the kept pool.
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::Cognito::UserPoolGroup"), map[string]any{}, jsii.Number(2))
	for _, typ := range []string{"AWS::Cognito::UserPoolGroup", "AWS::Cognito::UserPoolDomain"} {
		for id, r := range *tpl.FindResources(jsii.String(typ), nil) {
			assert.Equal(t, "Retain", (*r)["DeletionPolicy"], "%s %s", typ, id)
		}
	}
	// F9: the default prefix is <instance>-<account>.
	tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolDomain"), map[string]any{"Domain": "prodauth-123456789012"})
}

func TestAuthIsUnprotectedAndDeletedInDevelopment(t *testing.T) {
	exampleAuth(t).HasResource(jsii.String("AWS::Cognito::UserPool"), map[string]any{
		"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
		"Properties": map[string]any{"DeletionProtection": "INACTIVE"},
	})
	// A development instance may still keep its users across redeploys.
	kept, _ := buildInstance(t, "keepusers", "lifecycle: development\n"+authEnv+"auth:\n  lifecycle: {removal_policy: retain, deletion_protection: true}\n")
	template(kept.Auth.Stack).HasResource(jsii.String("AWS::Cognito::UserPool"), map[string]any{
		"DeletionPolicy": "Retain", "Properties": map[string]any{"DeletionProtection": "ACTIVE"},
	})
}

func TestAuthStackExistsOnlyWhenNeeded(t *testing.T) {
	none, _ := buildInstance(t, "noauth", "lifecycle: development\nenv: {account: \"123456789012\", region: us-east-1}\nvpc: {availability_zones: [us-east-1a]}\n")
	assert.Nil(t, none.Auth)
	assert.Len(t, none.Stacks, 1)
}

// nagSuppressions returns the cdk-nag suppressions on the instance's user pool, rule -> reason.
func nagSuppressions(t *testing.T, tpl assertions.Template) map[string]string {
	pools := tpl.FindResources(jsii.String("AWS::Cognito::UserPool"), nil)
	require.Len(t, *pools, 1)
	out := map[string]string{}
	for _, r := range *pools {
		raw, _ := json.Marshal(r)
		var res struct {
			Metadata struct {
				CdkNag struct {
					Rules []struct{ ID, Reason string } `json:"rules_to_suppress"`
				} `json:"cdk_nag"`
			}
		}
		require.NoError(t, json.Unmarshal(raw, &res))
		for _, s := range res.Metadata.CdkNag.Rules {
			out[s.ID] = s.Reason
		}
	}
	return out
}

func TestAuthSuppressesCOG2OnlyForTheChosenMfaMode(t *testing.T) {
	assert.Contains(t, nagSuppressions(t, exampleAuth(t))["AwsSolutions-COG2"], "auth.mfa: optional")
	assert.NotContains(t, nagSuppressions(t, exampleAuth(t)), "AwsSolutions-COG8", "the Plus plan needs no excuse")

	strict, _ := buildInstance(t, "mfaon", "lifecycle: development\n"+authEnv+"auth: {mfa: required}\n")
	tpl := template(strict.Auth.Stack)
	tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{"MfaConfiguration": "ON"})
	assert.Empty(t, nagSuppressions(t, tpl))
}

func TestAuthSuppressesCOG8OnlyWhenConfigLeavesThePlusPlan(t *testing.T) {
	cheap, _ := buildInstance(t, "essentials", "lifecycle: development\n"+authEnv+"auth: {mfa: required, feature_plan: essentials, threat_protection: off}\n")
	tpl := template(cheap.Auth.Stack)
	tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
		"UserPoolTier": "ESSENTIALS", "UserPoolAddOns": assertions.Match_Absent(),
	})
	s := nagSuppressions(t, tpl)
	assert.Contains(t, s["AwsSolutions-COG8"], "essentials feature plan was chosen in this pool's configuration (auth.feature_plan)")
	assert.NotContains(t, s, "AwsSolutions-COG2")
}

func TestAuthSendsEmailThroughTheSESIdentity(t *testing.T) {
	built, _ := buildInstance(t, "sesmail", "lifecycle: development\n"+authEnv+`auth:
  email:
    sender: ses
    from_address: no-reply@example.edu
    from_name: Physics 101 Hub
    ses_identity: arn:aws:ses:us-west-2:123456789012:identity/example.edu
`)
	template(built.Auth.Stack).HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
		"EmailConfiguration": map[string]any{
			"EmailSendingAccount": "DEVELOPER",
			"From":                "Physics 101 Hub <no-reply@example.edu>",
			// The identity's own region, from its ARN, not the stack's.
			"SourceArn": "arn:aws:ses:us-west-2:123456789012:identity/example.edu",
		},
	})
}

func TestAuthClientSecretStaysOutOfTheTemplate(t *testing.T) {
	built, app := buildInstanceApp(t, "secret", "lifecycle: development\n"+authEnv)
	client := built.Auth.Auth.AddClient("Hub", auth.ClientOptions{
		CallbackURLs: []string{"https://hub.example.edu/hub/oauth_callback"}, GenerateSecret: true,
	})
	copied := awssecretsmanager.NewSecret(built.Auth.Stack, jsii.String("HubClientSecret"), &awssecretsmanager.SecretProps{
		SecretStringValue: client.Secret(),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(copied, &[]*cdknag.NagPackSuppression{{Id: jsii.String("AwsSolutions-SMG4"),
		Reason: jsii.String("Test fixture: a copy of a Cognito client secret, which rotates only when the client is replaced.")}}, nil)
	_, violations := synthApp(app)
	assert.Empty(t, violations, "the secret reader's managed policy is suppressed with a reason")
	tpl := template(built.Auth.Stack)
	tpl.HasResourceProperties(jsii.String("AWS::SecretsManager::Secret"), map[string]any{
		"SecretString": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("DescribeCognitoUserPoolClient")), "UserPoolClient.ClientSecret"}},
	})
	// The reader may describe clients of this pool only.
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": []any{map[string]any{
			"Action": "cognito-idp:DescribeUserPoolClient", "Effect": "Allow",
			"Resource": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^AuthUserPool")), "Arn"}},
		}}},
	})
	// F11: the AwsCustomResource that reads the secret must not log DescribeUserPoolClient's response, which
	// holds it: its handler logs "API response" only when logApiResponseData is true
	// (custom-resource-handlers/dist/custom-resources/aws-custom-resource-handler/index.js, aws-cdk-lib
	// 2.270.0), and UserPoolClient sets it from @aws-cdk/cognito:logUserPoolClientSecretValue, which
	// cdk.json pins to false (cx-api/lib/features.js).
	var reads int
	for _, r := range *tpl.FindResources(jsii.String("Custom::DescribeCognitoUserPoolClient"), nil) {
		raw, _ := json.Marshal(r)
		assert.Contains(t, string(raw), `\"logApiResponseData\":false`)
		assert.NotContains(t, string(raw), `\"logApiResponseData\":true`)
		reads++
	}
	assert.Equal(t, 1, reads)
	assert.Panics(t, func() {
		built.Auth.Auth.AddClient("Public", auth.ClientOptions{CallbackURLs: []string{"https://a.example.edu/cb"}}).Secret()
	}, "a public client has no secret")
}

func TestAuthRejectsImpossibleProps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props *auth.Props
		want  string
	}{
		{"reserved word in the prefix", &auth.Props{DomainPrefix: "my-cognito-hub"}, `contains "cognito"`},
		{"uppercase prefix", &auth.Props{DomainPrefix: "Hub"}, "lowercase letters"},
		{"short password", &auth.Props{DomainPrefix: "hub", Password: &auth.PasswordPolicy{MinLength: 6, TempPasswordValidityDays: 3}}, "MinLength 6 is out of range"},
		{"long custom attribute", &auth.Props{DomainPrefix: "hub", CustomAttributes: []auth.CustomAttribute{{Name: "an_attribute_name_too_long"}}}, "at most 20"},
		{"duplicate group", &auth.Props{DomainPrefix: "hub", Groups: []auth.Group{{Name: "sudo"}, {Name: "sudo"}}}, `group name "sudo"`},
		{"unknown standard attribute", &auth.Props{DomainPrefix: "hub", RequiredAttributes: []string{"shoe_size"}}, `"shoe_size" is not a standard attribute`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stack := awscdk.NewStack(newApp(nil), jsii.String("S"), nil)
			msg := panicMessage(func() { auth.New(stack, "Auth", tc.props) })
			assert.Contains(t, msg, "auth Auth: ")
			assert.Contains(t, msg, tc.want)
			assert.Empty(t, *stack.Node().Children(), "nothing is created before the props are checked")
		})
	}
}

func TestAuthAddClientRejectsPlainHTTP(t *testing.T) {
	stack := awscdk.NewStack(newApp(nil), jsii.String("S"), nil)
	a := auth.New(stack, "Auth", &auth.Props{DomainPrefix: "hub", Lifecycle: lifecycle.Development()})
	msg := panicMessage(func() {
		a.AddClient("Web", auth.ClientOptions{CallbackURLs: []string{"http://hub.example.edu/cb"}})
	})
	assert.Contains(t, msg, `URL "http://hub.example.edu/cb" must use https://`)
	assert.Contains(t, panicMessage(func() { a.AddClient("None", auth.ClientOptions{}) }), "at least one callback URL")
	assert.Equal(t, "did not panic", panicMessage(func() {
		a.AddClient("Dev", auth.ClientOptions{CallbackURLs: []string{"http://localhost:8000/hub/oauth_callback"}})
	}), "http://localhost is where developers run apps")
}

// Example_authAddClient shows another CDK app giving its own web app a login through a stratolab pool.
func Example_authAddClient() {
	app := newApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Portal"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("us-east-1")},
	})
	users := auth.New(stack, "Auth", &auth.Props{
		DomainPrefix: "physics-101",
		Groups:       []auth.Group{{Name: "instructors"}},
		Lifecycle:    lifecycle.Development(),
	})
	portal := users.AddClient("Portal", auth.ClientOptions{
		CallbackURLs:   []string{"https://portal.physics.example.edu/oauth2/callback"},
		GenerateSecret: true,
	})
	_ = portal.Secret() // an awscdk.SecretValue, for a container's secrets or a Secrets Manager secret

	tpl := template(stack)
	clients := tpl.FindResources(jsii.String("AWS::Cognito::UserPoolClient"), nil)
	for _, c := range *clients {
		props := (*c)["Properties"].(map[string]any)
		fmt.Println("flows:", props["AllowedOAuthFlows"])
		fmt.Println("scopes:", props["AllowedOAuthScopes"])
		fmt.Println("secret generated:", props["GenerateSecret"])
	}
	fmt.Println("hosted UI:", strings.Contains(fmt.Sprint(stack.Resolve(users.BaseURL)), ".auth.us-east-1.amazoncognito.com"))
	// Output:
	// flows: [code]
	// scopes: [openid email profile]
	// secret generated: true
	// hosted UI: true
}
