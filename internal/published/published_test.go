package published

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// fakeSSM serves parameters in pages of one, as GetParametersByPath may.
type fakeSSM struct{ params map[string]string }

func (f fakeSSM) GetParametersByPath(_ context.Context, in *ssm.GetParametersByPathInput, _ ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	var names []string
	for n := range f.params {
		if strings.HasPrefix(n, *in.Path) {
			names = append(names, n)
		}
	}
	start := 0
	if in.NextToken != nil {
		for i, n := range names {
			if n == *in.NextToken {
				start = i
			}
		}
	}
	out := &ssm.GetParametersByPathOutput{}
	if start < len(names) {
		out.Parameters = []ssmtypes.Parameter{{Name: aws.String(names[start]), Value: aws.String(f.params[names[start]])}}
		if start+1 < len(names) {
			out.NextToken = aws.String(names[start+1])
		}
	}
	return out, nil
}

func TestReadFollowsPagesAndStripsThePath(t *testing.T) {
	api := fakeSSM{map[string]string{"/stratolab/lab/network/vpc-id": "vpc-1", "/stratolab/lab/network/public-subnet-ids": "a,b", "/stratolab/other/network/vpc-id": "vpc-2"}}
	got, err := Read(context.Background(), api, "lab", "network")
	if err != nil || len(got) != 2 || got["vpc-id"] != "vpc-1" || got["public-subnet-ids"] != "a,b" {
		t.Fatalf("Read = %v, %v", got, err)
	}
	if _, err := Require(got, "lab", "network", "vpc-id", "queue-url", "table"); err == nil ||
		err.Error() != "instance lab does not publish /stratolab/lab/network/queue-url, /stratolab/lab/network/table: redeploy it with this version of stratolab" {
		t.Fatalf("Require: %v", err)
	}
}

func TestReadSaysWhatToDeployWhenNothingIsPublished(t *testing.T) {
	_, err := Read(context.Background(), fakeSSM{}, "lab", "registry")
	if err == nil || !strings.Contains(err.Error(), "is its registry module enabled and deployed (npx cdk deploy --all -c instance=lab)?") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Read(context.Background(), fakeSSM{}, "../x", "registry"); err == nil || !strings.Contains(err.Error(), "is not an instance name") {
		t.Fatalf("err = %v", err)
	}
}
