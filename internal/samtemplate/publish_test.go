package samtemplate

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/version"
)

// TestTemplate_ServerlessRepoMetadata: the Serverless Application
// Repository entry has every field the console shows, within the
// repository's limits, and points at files and a version that exist.
func TestTemplate_ServerlessRepoMetadata(t *testing.T) {
	c := transformed(t)
	root := testsupport.RepoRoot(t)
	app, _ := c.Metadata["AWS::ServerlessRepo::Application"].(map[string]any)
	if app == nil {
		t.Fatal("no Metadata.AWS::ServerlessRepo::Application")
	}
	for _, k := range []string{"Name", "Description", "Author", "SpdxLicenseId", "LicenseUrl", "ReadmeUrl",
		"Labels", "HomePageUrl", "SemanticVersion", "SourceCodeUrl"} {
		if app[k] == nil {
			t.Errorf("metadata lacks %s", k)
		}
	}
	if got := str(app["SemanticVersion"]); got != version.Release {
		t.Errorf("SemanticVersion = %s, want VERSION's %s", got, version.Release)
	}
	if n := str(app["Name"]); !regexp.MustCompile(`^[a-zA-Z0-9-]{1,140}$`).MatchString(n) {
		t.Errorf("Name %q: want 1-140 letters, digits, hyphens", n)
	}
	if d := str(app["Description"]); len(d) == 0 || len(d) > 256 {
		t.Errorf("Description has %d characters, want 1-256", len(d))
	}
	if a := str(app["Author"]); !regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,125}[a-z0-9])?$`).MatchString(a) || strings.Contains(a, "--") {
		t.Errorf("Author %q: want lower-case letters, digits and single hyphens", a)
	}
	labels := strs(app["Labels"])
	if len(labels) == 0 || len(labels) > 10 {
		t.Errorf("%d labels, want 1-10", len(labels))
	}
	for _, l := range labels {
		if !regexp.MustCompile(`^[a-zA-Z0-9+\-_:/@]{1,127}$`).MatchString(l) {
			t.Errorf("label %q not accepted by the repository", l)
		}
	}
	for _, k := range []string{"HomePageUrl", "SourceCodeUrl"} {
		if u := str(app[k]); !strings.HasPrefix(u, "https://github.com/codexgate/codexgate") {
			t.Errorf("%s = %s", k, u)
		}
	}
	// sam package uploads the local LicenseUrl and ReadmeUrl files.
	if got := str(app["SpdxLicenseId"]); got != "Apache-2.0" {
		t.Errorf("SpdxLicenseId = %s, want Apache-2.0 (LICENSE)", got)
	}
	lic, err := os.ReadFile(filepath.Join(root, str(app["LicenseUrl"])))
	if err != nil || !bytes.Contains(lic, []byte("Apache License\n                           Version 2.0, January 2004")) {
		t.Errorf("LicenseUrl %s is not the Apache 2.0 text: %v", str(app["LicenseUrl"]), err)
	}
	if _, err := os.Stat(filepath.Join(root, str(app["ReadmeUrl"]))); err != nil {
		t.Errorf("ReadmeUrl: %v", err)
	}
}

// TestTemplate_CustomDomain_Optional: DomainName and DomainCertificateArn
// create a regional domain mapped at its root to the stage, only when set
// and only together.
func TestTemplate_CustomDomain_Optional(t *testing.T) {
	c := transformed(t)
	for _, p := range []string{"DomainName", "DomainCertificateArn"} {
		if d, ok := c.Parameters[p]["Default"]; !ok || d != "" {
			t.Errorf("%s default = %v, want empty (no custom domain)", p, d)
		}
	}
	for v, want := range map[string]bool{"": true, "codex.example.com": true, "a.b.example.org": true,
		"Codex.Example.com": false, "example": false, "https://codex.example.com": false, "codex.example.com/v1": false} {
		if got := regexp.MustCompile(str(c.Parameters["DomainName"]["AllowedPattern"])).MatchString(v); got != want {
			t.Errorf("DomainName %q accepted = %v, want %v", v, got, want)
		}
	}
	arn := regexp.MustCompile(str(c.Parameters["DomainCertificateArn"]["AllowedPattern"]))
	if !arn.MatchString("arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0") || arn.MatchString("arn:aws:iam::123456789012:role/x") {
		t.Error("DomainCertificateArn pattern does not tell an ACM certificate ARN from another")
	}
	if got := str(c.Conditions["HasCustomDomain"]); got != `{"Fn::Not":[{"Fn::Equals":[{"Ref":"DomainName"},""]}]}` {
		t.Errorf("HasCustomDomain = %s", got)
	}
	if got := mustJSON(c.Rules["CustomDomainComplete"]); !strings.Contains(got, `"Ref":"DomainCertificateArn"`) || !strings.Contains(got, `"Fn::Or"`) {
		t.Errorf("no rule requiring DomainName and DomainCertificateArn together: %s", got)
	}
	d := c.resource(t, "ApiDomain", "AWS::ApiGateway::DomainName")
	if d.Condition != "HasCustomDomain" || str(d.Properties["DomainName"]) != "Ref:DomainName" ||
		str(d.Properties["RegionalCertificateArn"]) != "Ref:DomainCertificateArn" ||
		str(path(d.Properties, "EndpointConfiguration", "Types")) != `["REGIONAL"]` || str(d.Properties["SecurityPolicy"]) != "TLS_1_2" {
		t.Errorf("ApiDomain = %s (condition %q)", mustJSON(d.Properties), d.Condition)
	}
	m := c.resource(t, "ApiBasePathMapping", "AWS::ApiGateway::BasePathMapping")
	if m.Condition != "HasCustomDomain" || str(m.Properties["DomainName"]) != "Ref:ApiDomain" ||
		str(m.Properties["RestApiId"]) != "Ref:Api" || str(m.Properties["Stage"]) != "Ref:ApiStage" || m.Properties["BasePath"] != nil {
		t.Errorf("ApiBasePathMapping = %s (condition %q); want the stage at the domain's root", mustJSON(m.Properties), m.Condition)
	}
	c.resource(t, "ApiStage", "AWS::ApiGateway::Stage")
	for out, want := range map[string]string{
		"CustomDomainUrl":       "Sub:https://${DomainName}/v1",
		"ApiDomainTarget":       "GetAtt:ApiDomain.RegionalDomainName",
		"ApiDomainHostedZoneId": "GetAtt:ApiDomain.RegionalHostedZoneId",
	} {
		o := c.Outputs[out]
		if str(o["Value"]) != want || str(o["Condition"]) != "HasCustomDomain" {
			t.Errorf("output %s = %s, want %s under HasCustomDomain", out, mustJSON(o), want)
		}
	}
}

// TestTemplate_Transformed_Lints: cfn-lint finds nothing in the template
// CloudFormation runs after the SAM transform (make test lints the SAM
// template itself), with the new parameters, rules and metadata.
func TestTemplate_Transformed_Lints(t *testing.T) {
	raw := transformedJSON(t)
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint not on PATH (CI=true: a missing linter is a failure); make tools installs it")
		}
		t.Skip("cfn-lint not on PATH: make tools installs it")
	}
	file := filepath.Join(t.TempDir(), "transformed.json")
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(lint, file).CombinedOutput(); err != nil {
		t.Fatalf("cfn-lint on the transformed template: %v\n%s", err, out)
	}
}
