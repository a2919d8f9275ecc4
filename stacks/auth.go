package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/auth"
	"github.com/stratolab/stratolab/constructs/webfront"
	"github.com/stratolab/stratolab/instance"
)

// Auth is <instance>/Auth: the Cognito user pool that modules log their users in through.
type Auth struct {
	Stack awscdk.Stack
	Auth  *auth.Auth
	// Clients are the clients of auth.clients, by name.
	Clients map[string]*auth.Client
}

func newAuth(in *Instance, cfg *instance.Config) *Auth {
	a := cfg.Auth
	// A custom domain's certificate must be in us-east-1 (Cognito developer guide, "Using your own domain
	// for managed login"). In us-east-1 it is made in the Auth stack; elsewhere in a stack of its own
	// there, <instance>/AuthCertificate, deployed first, whose ARN reaches Auth as a cross-region stack
	// reference: with cdk.json's @aws-cdk/core:defaultCrossStackReferences "weak" it is an
	// Fn::GetStackOutput naming the stack and its region, read by CloudFormation itself, with no custom
	// resource (crossRegionReferences lets the CDK make such a reference between two regions). The
	// other ways were the deprecated DnsValidatedCertificate (a Lambda that requests the certificate in
	// us-east-1) or a certificate ARN made by hand, which this issue removes.
	crossRegion := a.CustomDomain != "" && cfg.Env.Region != "us-east-1"
	s := in.newStack(cfg, "Auth", "Cognito user pool", func(p *awscdk.StackProps) {
		if crossRegion {
			p.CrossRegionReferences = jsii.Bool(true)
		}
	})
	props := &auth.Props{
		DomainPrefix:       strings.Replace(cfg.AuthDomainPrefix(), instance.AccountPlaceholder, *awscdk.Aws_ACCOUNT_ID(), 1),
		UserPoolName:       cfg.Name + "-users",
		UsernameSignIn:     a.SignIn == "username",
		SelfSignUp:         a.SelfSignUp,
		RequiredAttributes: a.RequiredAttributes,
		Password: &auth.PasswordPolicy{
			MinLength:                a.Password.MinLength,
			RequireUppercase:         a.Password.RequireUppercase,
			RequireLowercase:         a.Password.RequireLowercase,
			RequireDigits:            a.Password.RequireDigits,
			RequireSymbols:           a.Password.RequireSymbols,
			TempPasswordValidityDays: a.Password.TempPasswordValidityDays,
		},
		Mfa: map[string]awscognito.Mfa{"off": awscognito.Mfa_OFF, "optional": awscognito.Mfa_OPTIONAL, "required": awscognito.Mfa_REQUIRED}[a.Mfa],
		FeaturePlan: map[string]awscognito.FeaturePlan{
			"lite": awscognito.FeaturePlan_LITE, "essentials": awscognito.FeaturePlan_ESSENTIALS, "plus": awscognito.FeaturePlan_PLUS,
		}[a.FeaturePlan],
		ThreatProtection: map[string]awscognito.StandardThreatProtectionMode{
			"enforced": awscognito.StandardThreatProtectionMode_FULL_FUNCTION,
			"audit":    awscognito.StandardThreatProtectionMode_AUDIT_ONLY,
			"off":      awscognito.StandardThreatProtectionMode_NO_ENFORCEMENT,
		}[a.ThreatProtection],
		TokenValidity: auth.TokenValidity{
			Access:  awscdk.Duration_Minutes(jsii.Number(a.TokenValidity.AccessMinutes)),
			ID:      awscdk.Duration_Minutes(jsii.Number(a.TokenValidity.IDMinutes)),
			Refresh: awscdk.Duration_Days(jsii.Number(a.TokenValidity.RefreshDays)),
		},
		Lifecycle: lifecycleFor(cfg, a.Lifecycle),
	}
	if a.FeaturePlan != "plus" {
		props.ThreatProtection = "" // only Plus has threat protection; validation rejects anything but off here
	}
	for _, c := range a.CustomAttributes {
		props.CustomAttributes = append(props.CustomAttributes, auth.CustomAttribute{
			Name: c.Name, Type: c.Type, MinLength: c.MinLength, MaxLength: c.MaxLength, Min: c.Min, Max: c.Max,
			Immutable: c.Mutable != nil && !*c.Mutable,
		})
	}
	for _, g := range a.Groups {
		props.Groups = append(props.Groups, auth.Group{Name: g.Name, Description: g.Description, Precedence: g.Precedence})
	}
	if a.Email.Sender == "ses" {
		identity, region := instance.SESIdentity(a.Email.SesIdentity)
		props.SES = &auth.SESEmail{FromAddress: a.Email.FromAddress, FromName: a.Email.FromName, ReplyTo: a.Email.ReplyTo, Region: region}
		if identity != a.Email.FromAddress {
			props.SES.VerifiedDomain = identity
		}
	}
	if a.CustomDomain != "" {
		policy := lifecycleFor(cfg, a.Lifecycle)
		certStack := s
		if crossRegion {
			certStack = in.newStack(cfg, "AuthCertificate", "the Cognito custom domain's certificate (us-east-1)", func(p *awscdk.StackProps) {
				p.Env = &awscdk.Environment{Account: jsii.String(cfg.Env.Account), Region: jsii.String("us-east-1")}
				p.CrossRegionReferences = jsii.Bool(true)
			})
			s.AddDependency(certStack, jsii.String("the custom domain's certificate"))
		}
		cert := webfront.NewCertificate(certStack, "CustomDomainCertificate", &webfront.Domain{Zone: hostedZone(certStack, cfg.DNS), Name: a.CustomDomain})
		// It follows the pool's policy (see auth.CustomDomain): a retained domain keeps using it.
		cert.ApplyRemovalPolicy(policy.RemovalPolicy)
		props.CustomDomain = &auth.CustomDomain{Name: a.CustomDomain, Certificate: cert, Zone: hostedZone(s, cfg.DNS)}
	}
	pool := auth.New(s, "Auth", props)

	out := &Auth{Stack: s, Auth: pool, Clients: map[string]*auth.Client{}}
	for _, c := range a.Clients {
		out.Clients[c.Name] = pool.AddClient("Client-"+c.Name, auth.ClientOptions{
			Name: c.Name, CallbackURLs: c.CallbackURLs, LogoutURLs: c.LogoutURLs, GenerateSecret: c.GenerateSecret,
		})
	}

	for id, o := range map[string]struct {
		value *string
		desc  string
	}{
		"UserPoolId":  {pool.UserPool.UserPoolId(), "Cognito user pool ID"},
		"HostedUiUrl": {pool.BaseURL, "Hosted UI (sign-in page) base URL"},
		"IssuerUrl":   {pool.IssuerURL, "OpenID Connect issuer URL"},
	} {
		awscdk.NewCfnOutput(s, jsii.String(id), &awscdk.CfnOutputProps{Value: o.value, Description: jsii.String(o.desc)})
	}
	return out
}
