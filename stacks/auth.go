package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/auth"
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
	s := in.newStack(cfg, "Auth", "Cognito user pool")
	a := cfg.Auth
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
