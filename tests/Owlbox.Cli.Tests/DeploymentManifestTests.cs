using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace Owlbox.Cli.Tests;

/// <summary>The Kubernetes manifests parse strictly against the Kubernetes types (a misspelt field fails); each role's
/// Deployment runs this binary with its role, hardened, with only the secrets it needs, every one of them created by
/// the documented commands; the compose file ships no credentials.</summary>
public partial class DeploymentManifestTests
{
    private static readonly string[] s_roles = ["gateway", "fetcher", "detector", "verifier", "writer"];

    private static string K8s(string file) => File.ReadAllText(Path.Combine(Workspace.RepoRoot, "k8s", file));

    private static V1Deployment Deployment(string role) => Assert.Single(KubernetesYaml.LoadAllFromString(K8s($"{role}.yaml"), strict: true).OfType<V1Deployment>());

    private static IEnumerable<(string Secret, string Key)> SecretRefs(string role) =>
        Deployment(role).Spec.Template.Spec.Containers.SelectMany(c => c.Env ?? []).Where(e => e.ValueFrom?.SecretKeyRef is not null)
            .Select(e => (e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key));

    [Theory]
    [InlineData("gateway")]
    [InlineData("fetcher")]
    [InlineData("detector")]
    [InlineData("verifier")]
    [InlineData("writer")]
    public void Deployment_RunsItsRole_Hardened_WithProbes(string role)
    {
        var pod = Deployment(role).Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);

        Assert.Equal(["/app/owlbox", "serve", "--roles", role, "--urls", "http://0.0.0.0:8080"], container.Command);
        Assert.Equal(("/readyz", "/healthz"), (container.ReadinessProbe.HttpGet.Path, container.LivenessProbe.HttpGet.Path));
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.NotEqual(0, pod.SecurityContext.RunAsUser);
        Assert.Equal("RuntimeDefault", pod.SecurityContext.SeccompProfile.Type);
        Assert.False(pod.AutomountServiceAccountToken);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        Assert.Contains(container.VolumeMounts, m => m.MountPath == "/tmp" && pod.Volumes.Single(v => v.Name == m.Name).EmptyDir is not null);
        Assert.Contains(container.Env, e => e.Name == "Owlbox__PostgresConnectionString" && e.ValueFrom.SecretKeyRef.Name == "owlbox-database");
        Assert.Equal(role == "detector", container.Resources.Limits.ContainsKey("nvidia.com/gpu"));
    }

    [Fact]
    public void Secrets_EachRoleSeesOnlyWhatItNeeds()
    {
        var roles = s_roles.ToDictionary(r => r, r => SecretRefs(r).Select(s => s.Secret).ToHashSet());

        Assert.Equal(["fetcher", "writer"], s_roles.Where(r => roles[r].Contains("owlbox-edge-impulse")));
        Assert.Equal(["gateway"], s_roles.Where(r => roles[r].Contains("owlbox-gateway")));
        Assert.Equal(["verifier"], s_roles.Where(r => roles[r].Contains("owlbox-llm")));
        // The key that opens the project keys jobs bring: whoever opens a project for a job, never the detector.
        Assert.Equal(["gateway", "fetcher", "writer"], s_roles.Where(r => roles[r].Contains("owlbox-key-sealing")));
        Assert.All(s_roles, r => Assert.Contains("owlbox-rabbitmq", roles[r]));
    }

    [Fact]
    public void EverySecretReferenced_IsCreatedByTheDocumentedCommands()
    {
        var documented = CreateSecretRegex().Matches(K8s("config.yaml"))
            .SelectMany(m => LiteralRegex().Matches(m.Value).Select(l => (m.Groups["name"].Value, l.Groups["key"].Value)))
            .ToHashSet();
        var keda = TriggerAuthRegex().Match(K8s("scaledobject.yaml"));
        var referenced = s_roles.SelectMany(SecretRefs).Append((keda.Groups["name"].Value, keda.Groups["key"].Value)).ToHashSet();

        Assert.True(keda.Success, "the KEDA TriggerAuthentication names no secret key");
        Assert.Empty(referenced.Except(documented));
    }

    [Fact]
    public void NetworkPolicies_DenyByDefault_AndOnlyFetchersAndWritersReachOut()
    {
        var policies = KubernetesYaml.LoadAllFromString(K8s("networkpolicy.yaml"), strict: true).OfType<V1NetworkPolicy>().ToArray();

        var deny = Assert.Single(policies, p => p.Metadata.Name == "owlbox-default-deny");
        Assert.Empty(deny.Spec.PodSelector.MatchLabels ?? new Dictionary<string, string>());
        Assert.Equal(["Ingress", "Egress"], deny.Spec.PolicyTypes);
        Assert.Null(deny.Spec.Egress);
        var outside = Assert.Single(policies, p => p.Spec.PodSelector.MatchExpressions?.Any() == true);
        Assert.Equal(["fetcher", "writer"], outside.Spec.PodSelector.MatchExpressions.Single().Values);
        Assert.All(outside.Spec.Egress, e => Assert.Equal([443], e.Ports.Select(p => int.Parse(p.Port.Value, System.Globalization.CultureInfo.InvariantCulture))));
        // The vision model's endpoint: the verifier alone.
        var llm = Assert.Single(policies, p => p.Metadata.Name == "owlbox-llm");
        Assert.Equal("verifier", llm.Spec.PodSelector.MatchLabels["role"]);
        Assert.All(llm.Spec.Egress, e => Assert.Equal([443], e.Ports.Select(p => int.Parse(p.Port.Value, System.Globalization.CultureInfo.InvariantCulture))));
        Assert.Contains("networkpolicy.yaml", K8s("kustomization.yaml"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("namespace.yaml")]
    [InlineData("config.yaml")]
    [InlineData("shared-images-pvc.yaml")]
    [InlineData("models-job.yaml")]
    public void OtherManifests_ParseStrictly(string file)
    {
        Assert.NotEmpty(KubernetesYaml.LoadAllFromString(K8s(file), strict: true));
    }

    [Fact]
    public void ConfigMap_ConfinesDatasetsAndEndpoints()
    {
        var config = Assert.Single(KubernetesYaml.LoadAllFromString(K8s("config.yaml"), strict: true).OfType<V1ConfigMap>());

        Assert.Equal("/datasets", config.Data["Owlbox__Datasets__LocalRoots__0"]);
        Assert.Equal("https://studio.edgeimpulse.com/v1", config.Data["Owlbox__EdgeImpulse__Endpoints__0"]);
        Assert.Contains(Deployment("writer").Spec.Template.Spec.Containers.Single().VolumeMounts, m => m.MountPath == "/datasets" && m.ReadOnlyProperty != true);
        Assert.Contains(Deployment("fetcher").Spec.Template.Spec.Containers.Single().VolumeMounts, m => m.MountPath == "/datasets" && m.ReadOnlyProperty == true);
    }

    [Fact]
    public void Keda_ScalesTheDetectorOnItsQueue()
    {
        // A CRD: checked as text against the names the services really use.
        var text = K8s("scaledobject.yaml");
        Assert.Contains("name: owlbox-detector", text, StringComparison.Ordinal);
        Assert.Contains("queueName: detect-images", text, StringComparison.Ordinal);
        // The verifier on its own queue (the kebab-case endpoint of VerifySampleConsumer), apart from the GPUs.
        Assert.Contains("name: owlbox-verifier", text, StringComparison.Ordinal);
        Assert.Contains("queueName: verify-sample", text, StringComparison.Ordinal);
        Assert.Contains("type: rabbitmq", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Image_RunsAsANonRootUser()
    {
        var user = Assert.Single(File.ReadAllLines(Path.Combine(Workspace.RepoRoot, "Dockerfile")), l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotMatch(@"USER (0|root)\b", user);
    }

    [Fact]
    public void Compose_ShipsNoCredentials()
    {
        var compose = File.ReadAllText(Path.Combine(Workspace.RepoRoot, "docker-compose.yml"));

        Assert.DoesNotContain("change-me", compose, StringComparison.Ordinal);
        Assert.DoesNotContain("guest", compose, StringComparison.Ordinal);
        Assert.DoesNotContain("Password=owlbox", compose, StringComparison.Ordinal);
        foreach (var variable in new[] { "OWLBOX_API_KEY", "OWLBOX_DB_PASSWORD", "OWLBOX_RABBITMQ_PASSWORD" })
        {
            Assert.Contains("${" + variable + ":?", compose, StringComparison.Ordinal); // required: compose refuses to start without it
        }
    }

    [GeneratedRegex(@"create secret generic (?<name>[a-z0-9-]+)(?<rest>[^\n]*)")]
    private static partial Regex CreateSecretRegex();

    [GeneratedRegex(@"--from-literal=(?<key>[a-z0-9-]+)=")]
    private static partial Regex LiteralRegex();

    [GeneratedRegex(@"secretTargetRef:\s*-\s*parameter: host\s*name: (?<name>[a-z0-9-]+)\s*key: (?<key>[a-z0-9-]+)")]
    private static partial Regex TriggerAuthRegex();
}
