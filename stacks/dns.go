package stacks

import (
	"sync"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/webfront"
	"github.com/stratolab/stratolab/instance"
)

// zones are the hosted zone imports made so far, by stack (jsii gives a construct the same Go value
// each time; a construct found by its ID comes back as a plain IConstruct, which cannot be converted).
var (
	zonesMu sync.Mutex
	zones   = map[awscdk.Stack]awsroute53.IHostedZone{}
)

// hostedZone is the instance's dns zone in stack s, imported by ID and name: synth never looks it up.
// One import per stack, shared by its front doors.
func hostedZone(s awscdk.Stack, d instance.DNS) awsroute53.IHostedZone {
	zonesMu.Lock()
	defer zonesMu.Unlock()
	if z, ok := zones[s]; ok {
		return z
	}
	z := awsroute53.HostedZone_FromHostedZoneAttributes(s, jsii.String("HostedZone"), &awsroute53.HostedZoneAttributes{
		HostedZoneId: jsii.String(d.ZoneID), ZoneName: jsii.String(d.ZoneName),
	})
	zones[s] = z
	return z
}

// frontDoorDomain is the Domain of a front door whose host URL is a name in the instance's zone: the
// front door then makes its DNS record, and its certificate unless one is configured. nil otherwise.
// This is the one way a front door (the jobs web server, the lookup service, the hub, later the control
// page's API custom domain) gets a name.
func frontDoorDomain(s awscdk.Stack, cfg *instance.Config, hostURL string) *webfront.Domain {
	host := instance.HostName(hostURL)
	if hostURL == "" || !cfg.DNS.InZone(host) || cfg.DNS.ZoneID == "" {
		return nil
	}
	return &webfront.Domain{Zone: hostedZone(s, cfg.DNS), Name: host}
}
