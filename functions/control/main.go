// Command control is the control workflow's function (provided.al2023, arm64): the steps Step
// Functions' SDK integrations cannot do alone (resolve tags to live instances, save and restore
// sizes, judge readiness and terminal states, take the lock). All logic is in internal/control; each
// call's payload names its step in "op": begin, act, check or finish.
//
// Environment: INSTANCE, ENVIRONMENT, TABLE_NAME (the run table), TOPIC_ARN (optional).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/stratolab/stratolab/internal/control"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c := control.NewClients(cfg)
	e, err := engine(c, os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lambda.Start(handler(e))
}

func engine(c *control.Clients, env func(string) string) (*control.Engine, error) {
	if env("TABLE_NAME") == "" || env("ENVIRONMENT") == "" {
		return nil, fmt.Errorf("TABLE_NAME and ENVIRONMENT are required")
	}
	return &control.Engine{Clients: c, Instance: env("INSTANCE"), TopicArn: env("TOPIC_ARN"),
		Table: &control.Table{API: c.Dynamo, Name: env("TABLE_NAME"), Env: env("ENVIRONMENT")}}, nil
}

// handler dispatches on the payload's op.
func handler(e *control.Engine) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var head struct {
			Op string `json:"op"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		switch head.Op {
		case "begin":
			var in control.BeginInput
			if err := json.Unmarshal(raw, &in); err != nil {
				return nil, fmt.Errorf("begin payload: %w", err)
			}
			return e.Begin(ctx, in)
		case "act", "check":
			var in control.StageInput
			if err := json.Unmarshal(raw, &in); err != nil {
				return nil, fmt.Errorf("%s payload: %w", head.Op, err)
			}
			if head.Op == "act" {
				return e.Act(ctx, in)
			}
			return e.Check(ctx, in)
		case "finish":
			var in control.FinishInput
			if err := json.Unmarshal(raw, &in); err != nil {
				return nil, fmt.Errorf("finish payload: %w", err)
			}
			run, err := e.Finish(ctx, in)
			return map[string]string{"status": run.Status}, err
		}
		return nil, fmt.Errorf("op %q is not begin, act, check or finish", head.Op)
	}
}
