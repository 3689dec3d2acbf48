using k8s;
using k8s.Models;

namespace Owlbox.Cli.Tests;

/// <summary>The Kubernetes manifests parse strictly against the Kubernetes types (a misspelt field fails), and
/// each role's Deployment runs this binary with its role and the secrets it needs.</summary>
public class DeploymentManifestTests
{
    private static string K8s(string file) => File.ReadAllText(Path.Combine(Workspace.RepoRoot, "k8s", file));

    [Theory]
    [InlineData("gateway")]
    [InlineData("fetcher")]
    [InlineData("detector")]
    [InlineData("writer")]
    public void Deployment_RunsItsRoleWithProbesAndSecrets(string role)
    {
        var objects = KubernetesYaml.LoadAllFromString(K8s($"{role}.yaml"), strict: true);

        var deployment = Assert.Single(objects.OfType<V1Deployment>());
        var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
        Assert.Equal(["/app/owlbox", "serve", "--roles", role, "--urls", "http://0.0.0.0:8080"], container.Command);
        Assert.Equal("/healthz", container.ReadinessProbe.HttpGet.Path);
        Assert.Contains(container.Env, e => e.Name == "Owlbox__PostgresConnectionString" && e.ValueFrom.SecretKeyRef.Name == "owlbox-secrets");
        Assert.Equal(role == "detector", container.Resources.Limits.ContainsKey("nvidia.com/gpu"));
    }

    [Theory]
    [InlineData("namespace.yaml")]
    [InlineData("config.yaml")]
    [InlineData("shared-images-pvc.yaml")]
    public void OtherManifests_ParseStrictly(string file)
    {
        Assert.NotEmpty(KubernetesYaml.LoadAllFromString(K8s(file), strict: true));
    }

    [Fact]
    public void Keda_ScalesTheDetectorOnItsQueue()
    {
        // A CRD: checked as text against the names the services really use.
        var text = K8s("scaledobject.yaml");
        Assert.Contains("name: owlbox-detector", text, StringComparison.Ordinal);
        Assert.Contains("queueName: detect-images", text, StringComparison.Ordinal);
        Assert.Contains("type: rabbitmq", text, StringComparison.Ordinal);
    }
}
