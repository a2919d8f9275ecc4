package kube

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Presigner presigns an STS GetCallerIdentity request. *sts.PresignClient satisfies it.
type Presigner interface {
	PresignGetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// tokenPrefix marks an aws-iam-authenticator bearer token, which EKS accepts for any IAM principal
// that has an access entry on the cluster.
const tokenPrefix = "k8s-aws-v1."

// tokenLifetime is how long a token is reused. EKS accepts a token for 15 minutes after it was signed
// (the X-Amz-Expires it carries is ignored); reusing it for 10 leaves room for clock skew.
const tokenLifetime = 10 * time.Minute

// EKSToken returns a bearer token for the EKS cluster clusterName, made as aws-iam-authenticator's
// pkg/token makes it: a presigned STS GetCallerIdentity URL that signs the header x-k8s-aws-id
// (so the token is good for this cluster only) and carries X-Amz-Expires=60, base64url-encoded
// without padding behind "k8s-aws-v1.". Presigning makes no network call.
func EKSToken(ctx context.Context, p Presigner, clusterName string) (string, error) {
	if clusterName == "" {
		return "", fmt.Errorf("kube: EKS token: cluster name is empty")
	}
	req, err := p.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(po *sts.PresignOptions) {
		po.ClientOptions = append(po.ClientOptions, func(o *sts.Options) {
			o.APIOptions = append(o.APIOptions,
				smithyhttp.SetHeaderValue("x-k8s-aws-id", clusterName),
				smithyhttp.SetHeaderValue("X-Amz-Expires", "60"),
			)
		})
	})
	if err != nil {
		return "", fmt.Errorf("kube: EKS token for cluster %s: presign sts:GetCallerIdentity: %w", clusterName, err)
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(req.URL)), nil
}

// EKSTokenSource returns a Client.Token function that makes an EKSToken and reuses it for 10 minutes,
// so a run longer than a token's 15-minute life (a Lambda may run 15) keeps a valid one.
func EKSTokenSource(p Presigner, clusterName string) func(context.Context) (string, error) {
	var (
		mu      sync.Mutex
		token   string
		expires time.Time
	)
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if token != "" && time.Now().Before(expires) {
			return token, nil
		}
		t, err := EKSToken(ctx, p, clusterName)
		if err != nil {
			return "", err
		}
		token, expires = t, time.Now().Add(tokenLifetime)
		return token, nil
	}
}
