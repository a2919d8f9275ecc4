package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB is the part of the DynamoDB API DynamoStore uses. *dynamodb.Client satisfies it.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// TableKey is the records table's partition key. A record's item is {id, bucket, doc (the Record as
// JSON), version}; a dataset's lock is the item lock#<id> {owner, expires (epoch seconds)}.
const TableKey = "id"

// DynamoStore keeps records in a DynamoDB table (on demand: nothing is paid while idle).
type DynamoStore struct {
	API   DynamoDB
	Table string
	Now   func() time.Time
}

func (d *DynamoStore) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func (d *DynamoStore) Get(ctx context.Context, id string) (*Record, error) {
	out, err := d.API.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: map[string]types.AttributeValue{TableKey: s(id)}, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return nil, err
	}
	return decodeItem(out.Item)
}

func decodeItem(item map[string]types.AttributeValue) (*Record, error) {
	doc, ok := item["doc"].(*types.AttributeValueMemberS)
	if !ok {
		return nil, errors.New("record item without doc")
	}
	var r Record
	if err := json.Unmarshal([]byte(doc.Value), &r); err != nil {
		return nil, err
	}
	if v, ok := item["version"].(*types.AttributeValueMemberN); ok {
		r.Version, _ = strconv.ParseInt(v.Value, 10, 64)
	}
	return &r, nil
}

func (d *DynamoStore) Put(ctx context.Context, rec *Record) error {
	next := *rec
	next.Version = rec.Version + 1
	doc, err := json.Marshal(&next)
	if err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: map[string]types.AttributeValue{
		TableKey: s(rec.ID), "bucket": s(rec.Bucket), "doc": s(string(doc)), "version": n(next.Version)}}
	if rec.Version == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(id)")
	} else {
		in.ConditionExpression = aws.String("version = :v")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": n(rec.Version)}
	}
	if _, err := d.API.PutItem(ctx, in); err != nil {
		var cf *types.ConditionalCheckFailedException
		if errors.As(err, &cf) {
			return ErrConflict
		}
		return err
	}
	rec.Version = next.Version
	return nil
}

func (d *DynamoStore) Delete(ctx context.Context, id string, version int64) error {
	_, err := d.API.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(d.Table), Key: map[string]types.AttributeValue{TableKey: s(id)},
		ConditionExpression: aws.String("attribute_not_exists(id) OR version = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": n(version)}})
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return ErrConflict
	}
	return err
}

func (d *DynamoStore) List(ctx context.Context, bucket string) ([]Record, error) {
	var out []Record
	p := dynamodb.NewScanPaginator(d.API, &dynamodb.ScanInput{TableName: aws.String(d.Table), ConsistentRead: aws.Bool(true),
		// bucket is a DynamoDB reserved word ("Reserved words in DynamoDB"): it needs an alias.
		FilterExpression: aws.String("#b = :b"), ExpressionAttributeNames: map[string]string{"#b": "bucket"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":b": s(bucket)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, item := range page.Items {
			r, err := decodeItem(item)
			if err != nil {
				return nil, err
			}
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (d *DynamoStore) Lock(ctx context.Context, id, owner string, ttl time.Duration) error {
	now := d.now().Unix()
	_, err := d.API.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Table),
		Item:                      map[string]types.AttributeValue{TableKey: s("lock#" + id), "owner": s(owner), "expires": n(now + int64(ttl.Seconds()))},
		ConditionExpression:       aws.String("attribute_not_exists(id) OR expires < :now OR #o = :owner"),
		ExpressionAttributeNames:  map[string]string{"#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": n(now), ":owner": s(owner)}})
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return ErrBusy
	}
	return err
}

func (d *DynamoStore) Unlock(ctx context.Context, id, owner string) error {
	_, err := d.API.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(d.Table), Key: map[string]types.AttributeValue{TableKey: s("lock#" + id)},
		ConditionExpression: aws.String("#o = :owner"), ExpressionAttributeNames: map[string]string{"#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": s(owner)}})
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return nil
	}
	return err
}
