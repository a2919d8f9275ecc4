package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"github.com/stratolab/stratolab/internal/controlpage/demo"
)

// serveFlags are `stratolab control serve`'s flags.
var serveFlags struct {
	demo bool
	addr string
	step time.Duration
}

var controlServeCmd = &cobra.Command{
	Use:   "serve --demo [--addr 127.0.0.1:8080]",
	Short: "Serve the control page locally against a fake backend and a fake login (demo mode)",
	Long: `serve runs the control page and its API on this machine, as the Lambda serves them behind API
Gateway, against a fake control module (environments staging and training, whose targets turn ready
one by one after a start) and a fake login (users alice: control-staging, bob: control-training,
walter: watches only). It needs no AWS account. It listens on localhost unless --addr says otherwise.`,
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		if !serveFlags.demo {
			return errors.New("serve needs --demo: the real page is served by the Control stack's Lambda behind API Gateway")
		}
		h, _, err := demo.Handler(serveFlags.step)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", serveFlags.addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", serveFlags.addr, err)
		}
		return serve(cmd.Context(), ln, h, func(url string) {
			fmt.Fprintf(cmd.OutOrStdout(), "control page (demo mode) at %s; press Ctrl-C to stop\n", url)
		})
	},
}

// serve serves h on ln until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, h http.Handler, ready func(url string)) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	ready("http://" + ln.Addr().String() + "/")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
		return nil
	}
}

func init() {
	controlServeCmd.Flags().BoolVar(&serveFlags.demo, "demo", false, "serve against the fake backend and fake login (required)")
	controlServeCmd.Flags().StringVar(&serveFlags.addr, "addr", "127.0.0.1:8080", "address to listen on (localhost by default)")
	controlServeCmd.Flags().DurationVar(&serveFlags.step, "step", 2*time.Second, "how long each demo target takes to start or stop")
	controlCmd.AddCommand(controlServeCmd)
}
