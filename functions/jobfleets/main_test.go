package main

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGroupsReadsTheCommaSeparatedFleetNames(t *testing.T) {
	g, err := Groups(map[string]any{"FleetNames": "lab-prod-asg, lab-test-asg,"})
	require.NoError(t, err)
	assert.Equal(t, []string{"lab-prod-asg", "lab-test-asg"}, g)
	_, err = Groups(map[string]any{})
	assert.Error(t, err)
}

// Create and Update touch nothing (and need no AWS call); a Delete without fleet names lets the stack go on.
func TestCreateUpdateAndAnEmptyDeleteDoNothing(t *testing.T) {
	for _, rt := range []cfn.RequestType{cfn.RequestCreate, cfn.RequestUpdate} {
		id, data, err := handle(context.Background(), cfn.Event{RequestType: rt, ResourceProperties: map[string]any{"FleetNames": "a,b"}})
		require.NoError(t, err)
		assert.Equal(t, PhysicalID, id)
		assert.Nil(t, data)
	}
	id, _, err := handle(context.Background(), cfn.Event{RequestType: cfn.RequestDelete, PhysicalResourceID: PhysicalID})
	require.NoError(t, err)
	assert.Equal(t, PhysicalID, id)
}
