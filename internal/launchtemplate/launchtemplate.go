// Package launchtemplate makes the EC2 launch template every stratolab fleet boots from: IMDSv2
// required, an encrypted gp3 root volume deleted with the instance, and the rest from props.
package launchtemplate

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Props configure a launch template. Zero values leave a setting to whoever uses the template (an
// autoscaling group's overrides, or EKS for a managed node group).
type Props struct {
	InstanceType  string
	MachineImage  awsec2.IMachineImage
	Role          awsiam.IRole
	SecurityGroup awsec2.ISecurityGroup
	UserData      awsec2.UserData
	// Root volume size. Default: - 30 GiB
	RootVolumeGiB int
	// IMDS hops. Default: - 1, so containers cannot reach the instance's credentials
	HopLimit int
	// One-minute CloudWatch metrics (cdk-nag's EC28 asks for them on fleets).
	DetailedMonitoring bool
}

// New creates the launch template in scope.
func New(scope constructs.Construct, id string, p Props) awsec2.LaunchTemplate {
	size, hops := p.RootVolumeGiB, p.HopLimit
	if size == 0 {
		size = 30
	}
	if hops == 0 {
		hops = 1
	}
	props := &awsec2.LaunchTemplateProps{
		MachineImage:            p.MachineImage,
		Role:                    p.Role,
		SecurityGroup:           p.SecurityGroup,
		UserData:                p.UserData,
		RequireImdsv2:           jsii.Bool(true),
		HttpTokens:              awsec2.LaunchTemplateHttpTokens_REQUIRED,
		HttpPutResponseHopLimit: jsii.Number(hops),
		BlockDevices: &[]*awsec2.BlockDevice{{
			DeviceName: jsii.String("/dev/xvda"),
			Volume: awsec2.BlockDeviceVolume_Ebs(jsii.Number(size), &awsec2.EbsDeviceOptions{
				Encrypted: jsii.Bool(true), VolumeType: awsec2.EbsDeviceVolumeType_GP3, DeleteOnTermination: jsii.Bool(true),
			}),
		}},
	}
	if p.InstanceType != "" {
		props.InstanceType = awsec2.NewInstanceType(jsii.String(p.InstanceType))
	}
	if p.DetailedMonitoring {
		props.DetailedMonitoring = jsii.Bool(true)
	}
	return awsec2.NewLaunchTemplate(scope, jsii.String(id), props)
}
