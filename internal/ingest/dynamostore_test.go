package ingest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stratolab/stratolab/internal/cloudcatalog"
)

// fakeDynamo evaluates the condition expressions DynamoStore writes, and nothing else: a new
// expression in the store fails these tests until the fake learns it.
type fakeDynamo struct {
	mu    sync.Mutex
	items map[string]map[string]types.AttributeValue
	t     *testing.T
}

func str(v types.AttributeValue) string {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberN:
		return x.Value
	}
	return ""
}

func num(v types.AttributeValue) int64 { n, _ := strconv.ParseInt(str(v), 10, 64); return n }

// reservedWords are the DynamoDB reserved words ("Reserved words in DynamoDB", developer guide) that an
// attribute of this store could be named: a bare one in an expression is a ValidationException.
var reservedWords = map[string]bool{"bucket": true, "owner": true, "name": true, "status": true, "data": true, "key": true,
	"value": true, "size": true, "timestamp": true, "date": true, "count": true, "catalog": true, "index": true, "user": true}

// checkReserved fails the test on a bare reserved word in expr, as DynamoDB would refuse the request.
func (f *fakeDynamo) checkReserved(expr *string) {
	for _, tok := range strings.FieldsFunc(aws.ToString(expr), func(r rune) bool {
		return !(r == '_' || r == '#' || r == ':' || unicode.IsLetter(r) || unicode.IsDigit(r))
	}) {
		if reservedWords[strings.ToLower(tok)] {
			f.t.Fatalf("ValidationException: %q uses the reserved word %s (use an expression attribute name)", aws.ToString(expr), tok)
		}
	}
}

func (f *fakeDynamo) cond(expr *string, item map[string]types.AttributeValue, vals map[string]types.AttributeValue) bool {
	if expr == nil {
		return true
	}
	f.checkReserved(expr)
	exists := item != nil
	switch *expr {
	case "attribute_not_exists(id)":
		return !exists
	case "version = :v":
		return exists && num(item["version"]) == num(vals[":v"])
	case "attribute_not_exists(id) OR version = :v":
		return !exists || num(item["version"]) == num(vals[":v"])
	case "attribute_not_exists(id) OR expires < :now OR #o = :owner":
		return !exists || num(item["expires"]) < num(vals[":now"]) || str(item["owner"]) == str(vals[":owner"])
	case "#o = :owner":
		return exists && str(item["owner"]) == str(vals[":owner"])
	}
	f.t.Fatalf("the fake does not know the condition %q", *expr)
	return false
}

var errCond = &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}

func (f *fakeDynamo) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &dynamodb.GetItemOutput{Item: f.items[str(in.Key["id"])]}, nil
}

func (f *fakeDynamo) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := str(in.Item["id"])
	if !f.cond(in.ConditionExpression, f.items[id], in.ExpressionAttributeValues) {
		return nil, errCond
	}
	f.items[id] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (f *fakeDynamo) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := str(in.Key["id"])
	if !f.cond(in.ConditionExpression, f.items[id], in.ExpressionAttributeValues) {
		return nil, errCond
	}
	delete(f.items, id)
	return &dynamodb.DeleteItemOutput{}, nil
}

func (f *fakeDynamo) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checkReserved(in.FilterExpression)
	if aws.ToString(in.FilterExpression) != "#b = :b" || in.ExpressionAttributeNames["#b"] != "bucket" {
		f.t.Fatalf("the fake does not know the filter %q", aws.ToString(in.FilterExpression))
	}
	out := &dynamodb.ScanOutput{}
	for _, item := range f.items {
		if str(item["bucket"]) == str(in.ExpressionAttributeValues[":b"]) {
			out.Items = append(out.Items, item)
		}
	}
	return out, nil
}

func TestDynamoStoreVersionsRecordsAndLocksDatasets(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	d := &DynamoStore{API: &fakeDynamo{items: map[string]map[string]types.AttributeValue{}, t: t}, Table: "records", Now: func() time.Time { return now }}
	ctx := context.Background()
	rec := &Record{ID: "MMS", Bucket: "helio-public", Prefix: "MMS/", Entry: cloudcatalog.Entry{ID: "MMS", Title: "MMS"}}
	if err := d.Put(ctx, rec); err != nil || rec.Version != 1 {
		t.Fatalf("first put: %v, version %d", err, rec.Version)
	}
	stale := *rec
	if err := d.Put(ctx, rec); err != nil || rec.Version != 2 {
		t.Fatalf("second put: %v, version %d", err, rec.Version)
	}
	if err := d.Put(ctx, &stale); !errors.Is(err, ErrConflict) {
		t.Fatalf("a stale put: %v, want ErrConflict", err)
	}
	got, err := d.Get(ctx, "MMS")
	if err != nil || got.Version != 2 || got.Entry.Title != "MMS" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if err := d.Lock(ctx, "MMS", "job1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := d.Lock(ctx, "MMS", "job2", time.Minute); !errors.Is(err, ErrBusy) {
		t.Fatalf("second lock: %v, want ErrBusy", err)
	}
	recs, err := d.List(ctx, "helio-public")
	if err != nil || len(recs) != 1 {
		t.Fatalf("list (the lock item is not a record): %+v %v", recs, err)
	}
	now = now.Add(2 * time.Minute) // job1 crashed: its lock expires
	if err := d.Lock(ctx, "MMS", "job2", time.Minute); err != nil {
		t.Fatalf("lock after expiry: %v", err)
	}
	if err := d.Unlock(ctx, "MMS", "job1"); err != nil {
		t.Fatalf("a stale unlock is a no-op: %v", err)
	}
	if err := d.Lock(ctx, "MMS", "job3", time.Minute); !errors.Is(err, ErrBusy) {
		t.Fatal("job1's unlock freed job2's lock")
	}
	if err := d.Delete(ctx, "MMS", 1); !errors.Is(err, ErrConflict) {
		t.Fatalf("delete of a stale version: %v", err)
	}
	if err := d.Delete(ctx, "MMS", 2); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Get(ctx, "MMS"); got != nil {
		t.Fatal("deleted record still there")
	}
}
