package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stratolab/stratolab/internal/control"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEngineNeedsTableAndEnvironment(t *testing.T) {
	_, err := engine(&control.Clients{}, func(string) string { return "" })
	assert.ErrorContains(t, err, "TABLE_NAME and ENVIRONMENT are required")
}

func TestHandlerRefusesUnknownOps(t *testing.T) {
	e, err := engine(&control.Clients{}, func(k string) string { return map[string]string{"TABLE_NAME": "t", "ENVIRONMENT": "e"}[k] })
	require.NoError(t, err)
	_, err = handler(e)(context.Background(), json.RawMessage(`{"op":"reboot"}`))
	assert.ErrorContains(t, err, `op "reboot" is not begin, act, check or finish`)
	_, err = handler(e)(context.Background(), json.RawMessage(`{"op":"begin","action":"restart"}`))
	assert.ErrorContains(t, err, `action "restart" is not start or stop`)
}
