package main

import "github.com/spf13/cobra"

// controlCmd is the `stratolab control` command group. Its subcommands live in their own files and add
// themselves here in init functions: the run commands (start, stop, status, plan, hold, runs) and the
// page's local mode (serve --demo).
var controlCmd = &cobra.Command{
	Use:   "control",
	Short: "Start, stop and watch an instance's environments, stage by stage",
	Args:  cobra.NoArgs,
	RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
}

func init() { root.AddCommand(controlCmd) }
