package controlpage

import (
	"fmt"
	"strconv"
)

// The Lambda function's environment, which constructs/controlpage sets (its Env* constants name the
// same variables; a test in test/ keeps the two lists equal).
const (
	EnvPageURL     = "CONTROL_PAGE_URL"      // the page's address, the client's callback URL
	EnvHostedUIURL = "CONTROL_HOSTED_UI_URL" // https://<prefix>.auth.<region>.amazoncognito.com
	EnvClientID    = "CONTROL_CLIENT_ID"     // the page's public user pool client
	EnvWatchAll    = "CONTROL_WATCH_ALL"     // "true": any logged-in user may watch
)

// OptionsFromEnv returns the handler's options of the Lambda behind API Gateway, from its environment
// (getenv is os.Getenv): the Cognito page configuration, JWTClaims as the authenticator, WatchAll. The
// caller adds Service (the control module's) and Log.
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	page, err := CognitoPage(getenv(EnvHostedUIURL), getenv(EnvClientID), getenv(EnvPageURL))
	if err != nil {
		return Options{}, err
	}
	watch := false
	if v := getenv(EnvWatchAll); v != "" {
		if watch, err = strconv.ParseBool(v); err != nil {
			return Options{}, fmt.Errorf("controlpage: %s=%q: want true or false", EnvWatchAll, v)
		}
	}
	return Options{Auth: JWTClaims, Page: page, WatchAll: watch}, nil
}
