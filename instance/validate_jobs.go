package instance

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/stratolab/stratolab/internal/awsrules"
	"github.com/stratolab/stratolab/internal/names"
)

var jobClassRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)

// jobs checks the jobs keys, only when the jobs module is enabled.
func (v *validator) jobs() {
	if !v.cfg.Enabled.Jobs {
		return
	}
	j := v.cfg.Jobs
	if len(j.Classes) == 0 {
		v.errorf("jobs.classes", "is empty (at least one job class, such as {name: prod, instance_types: [m5.xlarge], min: 0, max: 10})")
	}
	seen := map[string]int{}
	ids := map[string]int{}
	for i, c := range j.Classes {
		p := fmt.Sprintf("jobs.classes[%d]", i)
		id := names.Pascal(c.Name)
		switch first, dup := seen[c.Name]; {
		case !jobClassRe.MatchString(c.Name):
			v.errorf(p+".name", "%q is not a class name (lowercase letters, digits and dashes, starting with a letter, at most 20)", c.Name)
		case dup:
			v.errorf(p+".name", "%q is already the name of jobs.classes[%d] (class names are unique)", c.Name, first)
		default:
			if other, clash := ids[id]; clash {
				v.errorf(p+".name", "%q and jobs.classes[%d].name %q both make the resource names %s... (names must differ in more than their dashes)", c.Name, other, j.Classes[other].Name, id)
			}
		}
		seen[c.Name] = i
		if _, ok := ids[id]; !ok {
			ids[id] = i
		}
		if len(c.InstanceTypes) == 0 {
			v.errorf(p+".instance_types", "is required (such as [m5.xlarge])")
		}
		for k, t := range c.InstanceTypes {
			if why := awsrules.EC2InstanceType(t); why != "" {
				v.errorf(fmt.Sprintf("%s.instance_types[%d]", p, k), "%q %s", t, why)
			} else if why := awsrules.EC2ArchMismatch(c.InstanceTypes, k); why != "" {
				v.errorf(fmt.Sprintf("%s.instance_types[%d]", p, k), "%s (one CPU architecture per class)", why)
			}
		}
		v.minMax(p, c.Min, c.Max)
		if c.RootVolumeGiB != 0 && (c.RootVolumeGiB < 8 || c.RootVolumeGiB > 16384) { // 0: the default
			v.errorf(p+".root_volume_gib", "%d is out of range (8 to 16384 GiB)", c.RootVolumeGiB)
		}
	}
	v.jobImages()
	if j.VisibilityTimeoutSeconds < 0 || j.VisibilityTimeoutSeconds > 43200 {
		v.errorf("jobs.visibility_timeout_seconds", "%d is outside what SQS allows (0 to 43200 seconds, 12 hours)", j.VisibilityTimeoutSeconds)
	}
	if j.MaxReceiveCount < 1 || j.MaxReceiveCount > 1000 {
		v.errorf("jobs.max_receive_count", "%d is out of range (1 to 1000)", j.MaxReceiveCount)
	}
	if m := j.ScaleInAfterMinutes; m < 5 || m > 1440 || m%5 != 0 {
		v.errorf("jobs.scale_in_after_minutes", "%d must be a multiple of 5 from 5 to 1440", m)
	}
	for _, c := range []struct{ path, cmd string }{{"jobs.worker.command", j.Worker.Command}, {"jobs.web.command", j.Web.Command}} {
		if strings.ContainsAny(c.cmd, "\n\r") {
			v.errorf(c.path, "has a line break (one command line; put a script in your code tarball and run that)")
		}
	}
	if !strings.HasPrefix(j.Worker.CodeKey, "code/") || j.Worker.CodeKey == "code/" {
		v.errorf("jobs.worker.code_key", "%q must be a key under code/ (the web and worker roles can read only code/*), such as code/cloud_kotta.tar.gz", j.Worker.CodeKey)
	}
	w := j.Web
	// jobs.web.certificate_arn: see dns().
	if w.Command == "" {
		v.errorf("jobs.web.command", "is required (the command that starts the web app from your code tarball)")
	}
	if why := awsrules.EC2InstanceType(w.InstanceType); why != "" {
		v.errorf("jobs.web.instance_type", "%q %s", w.InstanceType, why)
	}
	v.minMax("jobs.web", w.Min, w.Max)
	if w.Port < 1 || w.Port > 65535 {
		v.errorf("jobs.web.port", "%d is not a port (1 to 65535)", w.Port)
	}
	if !strings.HasPrefix(w.HealthCheckPath, "/") {
		v.errorf("jobs.web.health_check_path", "%q must start with / (such as /health)", w.HealthCheckPath)
	}
	v.cidrs("jobs.web.allowed_cidrs", w.AllowedCidrs)
	switch {
	case w.Login == "cognito" && w.Host == "":
		v.errorf("jobs.web.host", "is required with jobs.web.login: cognito (the web server's URL, such as https://jobs.example.edu; Cognito returns users to <host>/oauth2/idpresponse)")
	case w.Host != "" && !hostRe.MatchString(w.Host):
		v.errorf("jobs.web.host", "%q is not an https:// host URL (such as https://jobs.example.edu, no path)", w.Host)
	}
	if j.Lifecycle.RemovalPolicy == "snapshot" {
		v.errorf("jobs.lifecycle.removal_policy", "snapshot is not something S3 buckets support (retain or destroy)")
	}
	v.productionDestroy("jobs.lifecycle", j.Lifecycle, "the tables keep their deletion protection and the buckets are not emptied, so cdk destroy would fail")
}

func (v *validator) minMax(path string, lo, hi int) {
	switch {
	case lo < 0:
		v.errorf(path+".min", "%d is negative (0 or more)", lo)
	case hi < 1:
		v.errorf(path+".max", "%d must be at least 1", hi)
	case lo > hi:
		v.errorf(path+".min", "%d is more than max %d (min <= max)", lo, hi)
	}
}

// imageParameters are the public SSM parameters "latest" follows, by image kind.
var imageParameters = map[string]string{
	"x86_64":     "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
	"arm64":      "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64",
	"gpu_x86_64": "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id",
	"gpu_arm64":  "/aws/service/deeplearning/ami/arm64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id",
}

// jobImages (F8): in production every kind of image the classes and the web server boot must be chosen: an
// AMI ID pins it, latest follows AWS's parameter (and the deploy after each release replaces the instances).
// No default there: AMI IDs differ by region, and following the parameter silently is what replaced
// production servers unasked. A development instance that leaves an image unset follows the parameter, so
// a first instance deploys without looking an AMI up.
func (v *validator) jobImages() {
	j := v.cfg.Jobs
	used := map[string]string{} // kind → who uses it
	for i, c := range j.Classes {
		if len(c.InstanceTypes) > 0 {
			if k := ImageKind(c.InstanceTypes[0]); used[k] == "" {
				used[k] = fmt.Sprintf("jobs.classes[%d] (%s)", i, c.InstanceTypes[0])
			}
		}
	}
	if t := j.Web.InstanceType; t != "" {
		if k := ImageKind(t); used[k] == "" {
			used[k] = "jobs.web (" + t + ")"
		}
	}
	for _, k := range []string{"x86_64", "arm64", "gpu_x86_64", "gpu_arm64"} {
		img := j.Images.Image(k)
		switch {
		case img == "" && used[k] != "" && v.cfg.Production():
			v.errorf("jobs.images."+k, "is required in production by %s: an AMI ID to pin it (today's: aws ssm get-parameter --name %s --query Parameter.Value), or latest to follow that parameter (each deploy after AWS publishes a new image then replaces the instances)", used[k], imageParameters[k])
		case img == "" || img == ImageLatest:
		default:
			if why := awsrules.AMIID(img); why != "" {
				v.errorf("jobs.images."+k, "%q %s, or latest", img, why)
			}
		}
	}
}
