package hubops

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/stratolab/stratolab/internal/kube"
)

// SyncClientSecret reads the app client's secret from Cognito and writes it to the Secret
// p.SecretName in p.Namespace, under the key p.SecretKey, labelled managed-by stratolab. The Secret
// is replaced whole, so it holds that one key. Create and Update of the custom resource call it;
// calling it again is harmless. The secret value is never logged and never in a returned error.
func SyncClientSecret(ctx context.Context, d Deps, p Props) error {
	out, err := d.Cognito.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{
		UserPoolId: aws.String(p.UserPoolID),
		ClientId:   aws.String(p.ClientID),
	})
	if err != nil {
		return fmt.Errorf("hubops: describe app client %s of user pool %s: %w", p.ClientID, p.UserPoolID, err)
	}
	if out.UserPoolClient == nil || aws.ToString(out.UserPoolClient.ClientSecret) == "" {
		return fmt.Errorf("hubops: app client %s of user pool %s has no client secret: create it with a generated secret", p.ClientID, p.UserPoolID)
	}
	value := aws.ToString(out.UserPoolClient.ClientSecret)
	err = d.Kube.ApplySecret(ctx, &kube.Secret{
		Metadata: kube.ObjectMeta{
			Name:      p.SecretName,
			Namespace: p.Namespace,
			Labels:    map[string]string{ManagedByLabel: "stratolab"},
		},
		Type: "Opaque",
		Data: map[string][]byte{p.SecretKey: []byte(value)},
	})
	if err != nil {
		return scrub(fmt.Errorf("hubops: write secret %s/%s: %w", p.Namespace, p.SecretName, err), value)
	}
	d.logf("secret %s/%s: wrote key %s from app client %s", p.Namespace, p.SecretName, p.SecretKey, p.ClientID)
	return nil
}

// scrub returns err, or when err's message holds secret (raw or base64-encoded) a plain error with
// those copies redacted. kube.Client already redacts; this also covers any other Kube.
func scrub(err error, secret string) error {
	msg := err.Error()
	b64 := base64.StdEncoding.EncodeToString([]byte(secret))
	if !strings.Contains(msg, secret) && !strings.Contains(msg, b64) {
		return err
	}
	return errors.New(strings.ReplaceAll(strings.ReplaceAll(msg, secret, "[redacted]"), b64, "[redacted]"))
}
