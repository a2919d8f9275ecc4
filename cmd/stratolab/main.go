// Command stratolab is the operator CLI of stratolab instances: one binary with a command group per
// module (`stratolab jobs ...`, `stratolab registry ...`, `stratolab control ...`). Each group lives in
// its own file and adds itself to the root command in an init function.
//
// It uses the AWS SDK for Go v2 and the standard credential chain (--profile and --region override
// it), finds an instance's resources through the SSM parameters its stacks publish
// (internal/published), prints progress on a terminal and plain lines otherwise, and exits non-zero
// with one clear message on any failure.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// globals are the persistent flags every command shares.
var globals struct {
	profile, region string
}

var root = &cobra.Command{
	Use:           "stratolab",
	Short:         "Operate stratolab instances: jobs, the registry, environment control",
	Version:       version,
	SilenceUsage:  true,
	SilenceErrors: true,
	// Without a command it prints help; an unknown one is an error (cobra.NoArgs says which).
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
}

func init() {
	root.PersistentFlags().StringVar(&globals.profile, "profile", "", "AWS shared config profile (default: the standard credential chain)")
	root.PersistentFlags().StringVar(&globals.region, "region", "", "AWS region (default: from the profile or AWS_REGION)")
}

// awsConfig loads the SDK configuration from the standard chain and the global flags.
func awsConfig(ctx context.Context) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if globals.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(globals.profile))
	}
	if globals.region != "" {
		opts = append(opts, config.WithRegion(globals.region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("no AWS region: pass --region or set AWS_REGION (the instance's env.region)")
	}
	return cfg, nil
}

// isTerminal reports whether w is a terminal, where commands draw live progress; elsewhere (a pipe, a
// file, CI) they print one plain line per step.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// run executes the root command with args and returns the process exit code: 0, 1 on failure, 130 on
// an interrupt.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "stratolab:", err)
		if errors.Is(err, context.Canceled) {
			return 130
		}
		return 1
	}
	return 0
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
