package jobs_test

import (
	"context"
	"errors"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stratolab/stratolab/internal/jobs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a DynamoDB that checks each request the way DynamoDB validates expressions (Developer
// Guide, "Expression attribute names" and "Expression attribute values"): every :value and #name an
// expression uses is defined, none defined is unused (DynamoDB answers ValidationException for an unused
// one), and no attribute is named bare, so a reserved word ("state", ...) can never slip in. It answers
// with fail when set.
type recorder struct {
	t     *testing.T
	calls []string
	fail  []error // one per call, in order; nil: success
	item  map[string]types.AttributeValue
}

var (
	valueRe = regexp.MustCompile(`:[A-Za-z0-9_]+`)
	nameRe  = regexp.MustCompile(`#[A-Za-z0-9_]+`)
	wordRe  = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	grammar = map[string]bool{"SET": true, "REMOVE": true, "AND": true, "OR": true, "IN": true, "attribute_not_exists": true, "if_not_exists": true}
)

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func uniq(xs []string) []string {
	sort.Strings(xs)
	var out []string
	for i, x := range xs {
		if i == 0 || xs[i-1] != x {
			out = append(out, x)
		}
	}
	return out
}

func (r *recorder) check(op string, exprs []string, names map[string]string, values map[string]types.AttributeValue) error {
	r.calls = append(r.calls, op)
	all := strings.Join(exprs, " ")
	assert.Equal(r.t, uniq(valueRe.FindAllString(all, -1)), keys(values), "%s: values used = values defined in %q", op, all)
	assert.Equal(r.t, uniq(nameRe.FindAllString(all, -1)), keys(names), "%s: names used = names defined in %q", op, all)
	bare := valueRe.ReplaceAllString(nameRe.ReplaceAllString(all, ""), "")
	for _, w := range wordRe.FindAllString(bare, -1) {
		assert.True(r.t, grammar[w], "%s: %q names an attribute without an alias in %q", op, w, all)
	}
	if len(r.fail) > 0 {
		err := r.fail[0]
		r.fail = r.fail[1:]
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *recorder) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return &dynamodb.PutItemOutput{}, r.check("PutItem", []string{aws.ToString(in.ConditionExpression)}, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
}

func (r *recorder) GetItem(_ context.Context, _ *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.calls = append(r.calls, "GetItem")
	return &dynamodb.GetItemOutput{Item: r.item}, nil
}

func (r *recorder) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	err := r.check("UpdateItem", []string{aws.ToString(in.UpdateExpression), aws.ToString(in.ConditionExpression)}, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	return &dynamodb.UpdateItemOutput{Attributes: r.item}, err
}

func failed(item map[string]types.AttributeValue) error {
	return &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed"), Item: item}
}

func running(on string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"job_id": &types.AttributeValueMemberS{Value: "j1"}, "state": &types.AttributeValueMemberS{Value: jobs.StateRunning},
		"instance_id": &types.AttributeValueMemberS{Value: on}}
}

func TestDynamoTableRequestsAreValidExpressions(t *testing.T) {
	ctx, now := context.Background(), time.Unix(1_800_000_000, 0)
	spec := jobs.Spec{JobID: "j1", Class: "prod", Command: []string{"true"}}
	r := &recorder{t: t, item: running("i-1")}
	tbl := jobs.DynamoTable{API: r, Name: "jobs"}

	require.NoError(t, tbl.Put(ctx, jobs.Job{JobID: "j1", State: jobs.StateQueued, Command: spec.Command}))
	j, err := tbl.Claim(ctx, jobs.Claim{Spec: spec, InstanceID: "i-1", Now: now, StaleBefore: now.Add(-time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, jobs.StateRunning, j.State)
	_, err = tbl.Heartbeat(ctx, "j1", "i-1", now)
	require.NoError(t, err)
	code := 3
	require.NoError(t, tbl.Finish(ctx, jobs.Finish{JobID: "j1", InstanceID: "i-1", State: jobs.StateFailed, ExitCode: &code, Reason: "exit code 3", Now: now}))
	require.NoError(t, tbl.Finish(ctx, jobs.Finish{JobID: "j1", InstanceID: "i-1", State: jobs.StateSucceeded, Now: now}))
	_, err = tbl.Cancel(ctx, "j1", now)
	require.NoError(t, err)

	// Conditional failures come back as the package's errors, with the item DynamoDB returned.
	r.fail = []error{failed(nil)}
	assert.ErrorIs(t, tbl.Put(ctx, jobs.Job{JobID: "j1", State: jobs.StateQueued}), jobs.ErrExists)
	r.fail = []error{failed(running("i-2"))}
	_, err = tbl.Claim(ctx, jobs.Claim{Spec: spec, InstanceID: "i-1", Now: now, StaleBefore: now})
	var nc *jobs.NotClaimableError
	require.True(t, errors.As(err, &nc), "%v", err)
	assert.Equal(t, "i-2", nc.Current.InstanceID)
	r.fail = []error{failed(running("i-2"))}
	_, err = tbl.Heartbeat(ctx, "j1", "i-1", now)
	var lost *jobs.LostError
	assert.True(t, errors.As(err, &lost))
	// Cancel of a running job: the queued-only update fails, then cancel_requested is set.
	r.fail = []error{failed(running("i-2")), nil}
	_, err = tbl.Cancel(ctx, "j1", now)
	require.NoError(t, err)
	r.fail = []error{failed(map[string]types.AttributeValue{"job_id": &types.AttributeValueMemberS{Value: "j1"}, "state": &types.AttributeValueMemberS{Value: jobs.StateSucceeded}})}
	_, err = tbl.Cancel(ctx, "j1", now)
	assert.ErrorContains(t, err, "has already ended: it is succeeded")
}
