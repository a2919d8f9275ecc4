// Package safebuild runs the app's construct building and turns a panic into an error, so that a user
// never sees a Go stack trace. A construct refuses props it cannot work with by panicking with a
// message (a string): that is a Refusal, which the app reports as a configuration problem. Any other
// panic (a Go runtime error, an error thrown by aws-cdk-lib) is an Internal error: the configuration
// passed every check and still broke a construct, which is a bug to report.
package safebuild

import "fmt"

// Refusal is a construct's message about its props.
type Refusal struct{ Message string }

func (r Refusal) Error() string { return r.Message }

// Internal is any other panic.
type Internal struct{ Cause any }

func (i Internal) Error() string { return fmt.Sprint(i.Cause) }

// Run calls build and returns nil, a Refusal or an Internal.
func Run(build func()) (err error) {
	defer func() {
		switch r := recover().(type) {
		case nil:
		case string:
			err = Refusal{r}
		default:
			err = Internal{r}
		}
	}()
	build()
	return nil
}
