// Command controlpage is the control page's function (provided.al2023, arm64), behind the Control
// stack's HTTP API: it serves the page and its JSON API (internal/controlpage) over the control
// module's run logic (internal/control), which reads the environments the Control stack publishes
// under /stratolab/<instance>/control/.
//
// Environment: CONTROL_INSTANCE (the instance's name), and the page's own (CONTROL_PAGE_URL,
// CONTROL_HOSTED_UI_URL, CONTROL_CLIENT_ID, CONTROL_WATCH_ALL; see constructs/controlpage).
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/stratolab/stratolab/internal/control"
	"github.com/stratolab/stratolab/internal/controlpage"
	"github.com/stratolab/stratolab/internal/published"
)

// EnvInstance names the instance whose published control environments the page serves.
const EnvInstance = "CONTROL_INSTANCE"

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail(err)
	}
	h, err := handler(ctx, ssm.NewFromConfig(cfg), control.NewClients(cfg), os.Getenv)
	if err != nil {
		fail(err)
	}
	lambda.Start(controlpage.LambdaHandler(h))
}

// fail ends the cold start: Lambda reports an initialization error and API Gateway answers 500, with
// the reason in the function's log (never a token: none has been read yet).
func fail(err error) {
	fmt.Fprintln(os.Stderr, "controlpage:", err)
	os.Exit(1)
}

// handler builds the page over the real control service: the environments come from SSM once per cold
// start (a deploy that changes them updates the function's configuration too, so the next cold start
// reads them again).
func handler(ctx context.Context, params published.SSM, c *control.Clients, getenv func(string) string) (http.Handler, error) {
	opts, err := controlpage.OptionsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	instance := getenv(EnvInstance)
	if instance == "" {
		return nil, fmt.Errorf("%s is required (the instance's name)", EnvInstance)
	}
	defs, err := control.LoadDefinitions(ctx, params, instance)
	if err != nil {
		return nil, err
	}
	svc, err := control.NewService(c, defs)
	if err != nil {
		return nil, err
	}
	opts.Service = svc
	return controlpage.New(opts)
}
