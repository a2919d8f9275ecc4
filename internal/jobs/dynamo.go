package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoAPI is the part of *dynamodb.Client that DynamoTable uses.
type DynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// DynamoTable is Table on a DynamoDB table keyed by job_id (constructs/jobstore's jobs table).
// The worker role needs dynamodb:GetItem, PutItem and UpdateItem on it.
type DynamoTable struct {
	API  DynamoAPI
	Name string
}

type av = types.AttributeValue

func s(v string) av               { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) av                { return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)} }
func key(id string) map[string]av { return map[string]av{"job_id": s(id)} }

// Every attribute in an expression is written #name and aliased by names(): "state" and others are
// DynamoDB reserved words, and an alias is never wrong.
var aliasRe = regexp.MustCompile(`#[a-z_]+`)

// names returns ExpressionAttributeNames for exactly the aliases the expressions use (DynamoDB refuses
// an unused one).
func names(exprs ...string) map[string]string {
	out := map[string]string{}
	for _, e := range exprs {
		for _, a := range aliasRe.FindAllString(e, -1) {
			out[a] = a[1:]
		}
	}
	return out
}

func (t DynamoTable) Put(ctx context.Context, j Job) error {
	item := toItem(j)
	_, err := t.API.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.Name), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(#job_id)"),
		ExpressionAttributeNames: names("attribute_not_exists(#job_id)"),
	})
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return fmt.Errorf("%s: %w", j.JobID, ErrExists)
	}
	return err
}

func (t DynamoTable) Get(ctx context.Context, id string) (Job, error) {
	out, err := t.API.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.Name), Key: key(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Job{}, err
	}
	if len(out.Item) == 0 {
		return Job{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	return fromItem(out.Item), nil
}

func (t DynamoTable) Claim(ctx context.Context, c Claim) (Job, error) {
	cmd, _ := json.Marshal(c.Spec.Command)
	out, err := t.API.UpdateItem(ctx, aliased(&dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: key(c.Spec.JobID),
		UpdateExpression: aws.String("SET #state = :running, #started_at = :now, #heartbeat_at = :now, #instance_id = :inst, #log_group = :lg, #log_stream = :ls, " +
			"#attempts = if_not_exists(#attempts, :zero) + :one, #job_class = if_not_exists(#job_class, :class), #command = if_not_exists(#command, :cmd) " +
			"REMOVE #exit_code, #reason, #finished_at"),
		ConditionExpression: aws.String("attribute_not_exists(#job_id) OR #state IN (:queued, :interrupted) OR (#state = :running AND #heartbeat_at < :stale)"),
		ExpressionAttributeValues: map[string]av{
			":running": s(StateRunning), ":queued": s(StateQueued), ":interrupted": s(StateInterrupted),
			":now": n(c.Now.Unix()), ":stale": n(c.StaleBefore.Unix()), ":inst": s(c.InstanceID),
			":lg": s(orDash(c.LogGroup)), ":ls": s(orDash(c.LogStream)), ":zero": n(0), ":one": n(1),
			":class": s(orDash(c.Spec.Class)), ":cmd": s(string(cmd)),
		},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}))
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return Job{}, &NotClaimableError{Current: fromItem(cf.Item)}
	}
	if err != nil {
		return Job{}, err
	}
	return fromItem(out.Attributes), nil
}

func (t DynamoTable) Heartbeat(ctx context.Context, id, inst string, now time.Time) (Job, error) {
	out, err := t.API.UpdateItem(ctx, aliased(&dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: key(id),
		UpdateExpression:          aws.String("SET #heartbeat_at = :now"),
		ConditionExpression:       aws.String("#state = :running AND #instance_id = :inst"),
		ExpressionAttributeValues: map[string]av{":now": n(now.Unix()), ":running": s(StateRunning), ":inst": s(inst)},
		ReturnValues:              types.ReturnValueAllNew, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}))
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return Job{}, &LostError{Current: fromItem(cf.Item)}
	}
	if err != nil {
		return Job{}, err
	}
	return fromItem(out.Attributes), nil
}

func (t DynamoTable) Finish(ctx context.Context, f Finish) error {
	set := "SET #state = :state, #finished_at = :now"
	vals := map[string]av{":state": s(f.State), ":now": n(f.Now.Unix()), ":running": s(StateRunning), ":inst": s(f.InstanceID)}
	if f.ExitCode != nil {
		set += ", #exit_code = :code"
		vals[":code"] = n(int64(*f.ExitCode))
	}
	if f.Reason != "" {
		set += ", #reason = :reason"
		vals[":reason"] = s(f.Reason)
	}
	_, err := t.API.UpdateItem(ctx, aliased(&dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: key(f.JobID),
		UpdateExpression:                    aws.String(set + " REMOVE #cancel_requested"),
		ConditionExpression:                 aws.String("#state = :running AND #instance_id = :inst"),
		ExpressionAttributeValues:           vals,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}))
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return &LostError{Current: fromItem(cf.Item)}
	}
	return err
}

func (t DynamoTable) Cancel(ctx context.Context, id string, now time.Time) (Job, error) {
	out, err := t.API.UpdateItem(ctx, aliased(&dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: key(id),
		UpdateExpression:          aws.String("SET #state = :cancelled, #finished_at = :now, #reason = :why"),
		ConditionExpression:       aws.String("#state IN (:queued, :interrupted)"),
		ExpressionAttributeValues: map[string]av{":cancelled": s(StateCancelled), ":now": n(now.Unix()), ":why": s("cancelled before it ran"), ":queued": s(StateQueued), ":interrupted": s(StateInterrupted)},
		ReturnValues:              types.ReturnValueAllNew, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}))
	var cf *types.ConditionalCheckFailedException
	if err == nil {
		return fromItem(out.Attributes), nil
	}
	if !errors.As(err, &cf) {
		return Job{}, err
	}
	if len(cf.Item) == 0 {
		return Job{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	cur := fromItem(cf.Item)
	if cur.State != StateRunning {
		return cur, fmt.Errorf("job %s has already ended: it is %s", id, cur.State)
	}
	out, err = t.API.UpdateItem(ctx, aliased(&dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: key(id),
		UpdateExpression:          aws.String("SET #cancel_requested = :t"),
		ConditionExpression:       aws.String("#state = :running"),
		ExpressionAttributeValues: map[string]av{":t": &types.AttributeValueMemberBOOL{Value: true}, ":running": s(StateRunning)},
		ReturnValues:              types.ReturnValueAllNew,
	}))
	if errors.As(err, &cf) {
		return t.Get(ctx, id)
	}
	if err != nil {
		return Job{}, err
	}
	return fromItem(out.Attributes), nil
}

// aliased sets in's ExpressionAttributeNames from its expressions.
func aliased(in *dynamodb.UpdateItemInput) *dynamodb.UpdateItemInput {
	in.ExpressionAttributeNames = names(aws.ToString(in.UpdateExpression), aws.ToString(in.ConditionExpression))
	return in
}

func orDash(v string) string {
	if v == "" {
		return "-"
	}
	return v
}

func toItem(j Job) map[string]av {
	cmd, _ := json.Marshal(j.Command)
	item := map[string]av{"job_id": s(j.JobID), "state": s(j.State), "submitted_at": n(j.SubmittedAt), "command": s(string(cmd))}
	if j.UserID != "" {
		item["user_id"] = s(j.UserID)
	}
	if j.Class != "" {
		item["job_class"] = s(j.Class)
	}
	return item
}

func fromItem(item map[string]av) Job {
	str := func(k string) string {
		if v, ok := item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	num := func(k string) (int64, bool) {
		if v, ok := item[k].(*types.AttributeValueMemberN); ok {
			i, err := strconv.ParseInt(v.Value, 10, 64)
			return i, err == nil
		}
		return 0, false
	}
	j := Job{JobID: str("job_id"), UserID: str("user_id"), Class: str("job_class"), State: str("state"), InstanceID: str("instance_id"),
		Reason: str("reason"), LogGroup: str("log_group"), LogStream: str("log_stream")}
	_ = json.Unmarshal([]byte(str("command")), &j.Command)
	j.SubmittedAt, _ = num("submitted_at")
	j.StartedAt, _ = num("started_at")
	j.FinishedAt, _ = num("finished_at")
	j.HeartbeatAt, _ = num("heartbeat_at")
	a, _ := num("attempts")
	j.Attempts = int(a)
	if c, ok := num("exit_code"); ok {
		ci := int(c)
		j.ExitCode = &ci
	}
	if b, ok := item["cancel_requested"].(*types.AttributeValueMemberBOOL); ok {
		j.CancelRequested = b.Value
	}
	return j
}
