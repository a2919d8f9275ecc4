// Package published reads what an instance's stacks publish for tools: SSM parameters under
// /stratolab/<instance>/<module>/ (Base publishes the network there; each module publishes what its
// commands need). The operator CLI finds everything this way, never by scanning stack names.
package published

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// SSM is the call Read makes. *ssm.Client satisfies it.
type SSM interface {
	GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
}

// Path is where an instance's module publishes its parameters: /stratolab/<instance>/<module>/.
func Path(instance, module string) string {
	return "/stratolab/" + instance + "/" + module + "/"
}

var instanceRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,23}$`)

// Read returns the parameters under Path(instance, module), keyed by the name after the path
// ("vpc-id" for /stratolab/lab/network/vpc-id). It fails, naming what to deploy, when there are none.
func Read(ctx context.Context, api SSM, instance, module string) (map[string]string, error) {
	if !instanceRe.MatchString(instance) {
		return nil, fmt.Errorf("%q is not an instance name (lowercase letters, digits and dashes, starting with a letter)", instance)
	}
	path := Path(instance, module)
	out := map[string]string{}
	in := &ssm.GetParametersByPathInput{Path: aws.String(path), Recursive: aws.Bool(true), WithDecryption: aws.Bool(false)}
	for {
		page, err := api.GetParametersByPath(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		for _, p := range page.Parameters {
			out[strings.TrimPrefix(aws.ToString(p.Name), path)] = aws.ToString(p.Value)
		}
		if page.NextToken == nil {
			break
		}
		in.NextToken = page.NextToken
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("instance %s publishes nothing under %s: is its %s module enabled and deployed (npx cdk deploy --all -c instance=%s)?", instance, path, module, instance)
	}
	return out, nil
}

// Require returns the named parameters of a Read result, or one error naming every missing one.
func Require(params map[string]string, instance, module string, names ...string) ([]string, error) {
	var missing []string
	values := make([]string, len(names))
	for i, n := range names {
		v, ok := params[n]
		if !ok || v == "" {
			missing = append(missing, Path(instance, module)+n)
		}
		values[i] = v
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("instance %s does not publish %s: redeploy it with this version of stratolab", instance, strings.Join(missing, ", "))
	}
	return values, nil
}
