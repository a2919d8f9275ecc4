package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stratolab/stratolab/internal/controlapi"
)

// Table is the run table of one environment (see the package comment for its items).
type Table struct {
	API  Dynamo
	Name string
	Env  string
}

// Lock is who holds an environment's lock.
type Lock struct {
	Execution    string // the execution's name (the run ID)
	ExecutionArn string
	Since        time.Time
}

// The exact condition expressions the table uses (the test fake knows exactly these).
const (
	condLockFree  = "attribute_not_exists(pk) OR #execution = :execution"
	condLockOwner = "#execution = :execution"
	keyCondRuns   = "pk = :pk AND begins_with(sk, :prefix)"
)

// RunKeyTime is the layout of a run's start time in its sort key (fixed width, so keys sort by time).
const RunKeyTime = "20060102T150405.000Z"

func s(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }

func str(item map[string]ddbtypes.AttributeValue, k string) string {
	if v, ok := item[k].(*ddbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func (t *Table) envKey() string  { return "env#" + t.Env }
func (t *Table) holdKey() string { return "hold#" + t.Env }

func (t *Table) key(pk, sk string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{"pk": s(pk), "sk": s(sk)}
}

// ReadLock returns the lock's holder, nil when nobody holds it.
func (t *Table) ReadLock(ctx context.Context) (*Lock, error) {
	out, err := t.API.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.Name), Key: t.key(t.envKey(), "lock"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read the lock of %s: %w", t.Env, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	since, _ := time.Parse(time.RFC3339Nano, str(out.Item, "since"))
	return &Lock{Execution: str(out.Item, "execution"), ExecutionArn: str(out.Item, "execution_arn"), Since: since}, nil
}

// ErrLockHeld is returned by TakeLock when the condition failed: someone else holds the lock.
var ErrLockHeld = errors.New("lock held")

// TakeLock writes the lock for l when it is free or already l's, or (with previous set) when it is
// still previous's: the takeover of a lock whose execution has ended.
func (t *Table) TakeLock(ctx context.Context, l Lock, previous string) error {
	item := t.key(t.envKey(), "lock")
	item["execution"], item["execution_arn"], item["since"] = s(l.Execution), s(l.ExecutionArn), s(l.Since.UTC().Format(time.RFC3339Nano))
	in := &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: item,
		ExpressionAttributeNames: map[string]string{"#execution": "execution"}}
	if previous == "" {
		in.ConditionExpression = aws.String(condLockFree)
		in.ExpressionAttributeValues = map[string]ddbtypes.AttributeValue{":execution": s(l.Execution)}
	} else {
		in.ConditionExpression = aws.String(condLockOwner)
		in.ExpressionAttributeValues = map[string]ddbtypes.AttributeValue{":execution": s(previous)}
	}
	_, err := t.API.PutItem(ctx, in)
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ErrLockHeld
	}
	if err != nil {
		return fmt.Errorf("take the lock of %s: %w", t.Env, err)
	}
	return nil
}

// ReleaseLock deletes the lock if execution holds it (and does nothing otherwise).
func (t *Table) ReleaseLock(ctx context.Context, execution string) error {
	_, err := t.API.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(t.Name), Key: t.key(t.envKey(), "lock"),
		ConditionExpression:       aws.String(condLockOwner),
		ExpressionAttributeNames:  map[string]string{"#execution": "execution"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":execution": s(execution)}})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("release the lock of %s: %w", t.Env, err)
	}
	return nil
}

func runSK(started time.Time, id string) string {
	return "run#" + started.UTC().Format(RunKeyTime) + "#" + id
}

// PutRun writes a run (its key is its start time and ID).
func (t *Table) PutRun(ctx context.Context, r controlapi.Run) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	item := t.key(t.envKey(), runSK(r.StartedAt, r.ID))
	item["run"] = s(string(data))
	item["status"] = s(r.Status)
	if _, err := t.API.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: item}); err != nil {
		return fmt.Errorf("write run %s: %w", r.ID, err)
	}
	return nil
}

// GetRun reads a run by its start time and ID; ok is false when there is none.
func (t *Table) GetRun(ctx context.Context, started time.Time, id string) (controlapi.Run, bool, error) {
	out, err := t.API.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.Name), Key: t.key(t.envKey(), runSK(started, id)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return controlapi.Run{}, false, fmt.Errorf("read run %s: %w", id, err)
	}
	if out.Item == nil {
		return controlapi.Run{}, false, nil
	}
	var r controlapi.Run
	if err := json.Unmarshal([]byte(str(out.Item, "run")), &r); err != nil {
		return r, false, fmt.Errorf("run %s: %w", id, err)
	}
	return r, true, nil
}

// Runs returns the latest runs, newest first.
func (t *Table) Runs(ctx context.Context, limit int) ([]controlapi.Run, error) {
	out, err := t.API.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(t.Name),
		KeyConditionExpression:    aws.String(keyCondRuns),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": s(t.envKey()), ":prefix": s("run#")},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(limit))})
	if err != nil {
		return nil, fmt.Errorf("list the runs of %s: %w", t.Env, err)
	}
	runs := make([]controlapi.Run, 0, len(out.Items))
	for _, item := range out.Items {
		var r controlapi.Run
		if err := json.Unmarshal([]byte(str(item, "run")), &r); err != nil {
			return nil, fmt.Errorf("a run of %s: %w", t.Env, err)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// Size is what a group or service was sized to before a stop set it to 0.
type Size struct{ Min, Max, Desired int }

func sizeSK(kind, id string) string { return "size#" + kind + "#" + id }

// SaveSize records a target's size before a stop.
func (t *Table) SaveSize(ctx context.Context, kind, id string, sz Size) error {
	item := t.key(t.envKey(), sizeSK(kind, id))
	item["min"], item["max"], item["desired"] = s(strconv.Itoa(sz.Min)), s(strconv.Itoa(sz.Max)), s(strconv.Itoa(sz.Desired))
	if _, err := t.API.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: item}); err != nil {
		return fmt.Errorf("save the size of %s: %w", id, err)
	}
	return nil
}

// SavedSize returns the size a stop saved; ok is false when none was saved.
func (t *Table) SavedSize(ctx context.Context, kind, id string) (Size, bool, error) {
	out, err := t.API.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.Name), Key: t.key(t.envKey(), sizeSK(kind, id)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Size{}, false, fmt.Errorf("read the saved size of %s: %w", id, err)
	}
	if out.Item == nil {
		return Size{}, false, nil
	}
	atoi := func(k string) int { n, _ := strconv.Atoi(str(out.Item, k)); return n }
	return Size{Min: atoi("min"), Max: atoi("max"), Desired: atoi("desired")}, true, nil
}

// Hold reads the environment's hold (nil when none, whether or not it has expired).
func (t *Table) Hold(ctx context.Context) (*controlapi.Hold, error) {
	out, err := t.API.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.Name), Key: t.key(t.holdKey(), "hold"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read the hold of %s: %w", t.Env, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	until, err := time.Parse(time.RFC3339, str(out.Item, "until"))
	if err != nil {
		return nil, fmt.Errorf("the hold of %s: %w", t.Env, err)
	}
	return &controlapi.Hold{Until: until.UTC(), By: str(out.Item, "by"), Reason: str(out.Item, "reason")}, nil
}

// SetHold writes (replaces) the environment's hold.
func (t *Table) SetHold(ctx context.Context, h controlapi.Hold) error {
	item := t.key(t.holdKey(), "hold")
	item["until"], item["by"], item["reason"] = s(h.Until.UTC().Format(time.RFC3339)), s(h.By), s(h.Reason)
	if _, err := t.API.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: item}); err != nil {
		return fmt.Errorf("write the hold of %s: %w", t.Env, err)
	}
	return nil
}

// ClearHold deletes the environment's hold.
func (t *Table) ClearHold(ctx context.Context) error {
	if _, err := t.API.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(t.Name), Key: t.key(t.holdKey(), "hold")}); err != nil {
		return fmt.Errorf("clear the hold of %s: %w", t.Env, err)
	}
	return nil
}
