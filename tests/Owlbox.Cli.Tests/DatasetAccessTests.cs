using System.Net;
using System.Net.Sockets;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.EdgeImpulse;

namespace Owlbox.Cli.Tests;

/// <summary>What a job may name: folders inside the dataset roots only, Edge Impulse endpoints the deployment lists.</summary>
public sealed class DatasetAccessTests : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("owlbox-access-").FullName;
    private readonly string _root;
    private readonly string _outside;

    public DatasetAccessTests()
    {
        _root = Directory.CreateDirectory(Path.Combine(_base, "roots", "data")).FullName;
        _outside = Directory.CreateDirectory(Path.Combine(_base, "private")).FullName;
        Directory.CreateDirectory(Path.Combine(_root, "shapes"));
        File.WriteAllText(Path.Combine(_outside, "secret.jpg"), "not for jobs");
    }

    public void Dispose() => Directory.Delete(_base, recursive: true);

    [Fact]
    public void AFolderInsideARoot_ResolvesToItsCanonicalPath()
    {
        var access = new LocalDatasetAccess([_root]);

        Assert.Equal(Path.Combine(_root, "shapes"), access.Resolve(Path.Combine(_root, "shapes", "..", "shapes")));
        Assert.Equal(_root, access.Resolve(_root + "/"));
    }

    [Fact]
    public void OutsideMissingDotDotAndSymlinkEscapes_AllGetTheSameAnswer()
    {
        var access = new LocalDatasetAccess([_root]);
        Directory.CreateSymbolicLink(Path.Combine(_root, "escape"), _outside);
        var sibling = Directory.CreateDirectory(_root + "-sibling").FullName; // shares the root's prefix as text

        string[] refused = [_outside, Path.Combine(_root, "no-such"), Path.Combine(_root, "..", "..", "private"), Path.Combine(_root, "escape"), sibling, "/"];

        var messages = refused.Select(l => Assert.Throws<DatasetException>(() => access.Resolve(l)).Message.Replace(l, "<location>", StringComparison.Ordinal)).Distinct().ToArray();
        Assert.Equal("dataset '<location>' is not available: give an existing folder inside this deployment's dataset roots", Assert.Single(messages));
    }

    [Fact]
    public void NoRoots_RelativePaths_AreRefused()
    {
        Assert.Contains("serves no local datasets", Assert.Throws<DatasetException>(() => new LocalDatasetAccess([]).Resolve(_root)).Message, StringComparison.Ordinal);
        Assert.Contains("must be an absolute path", Assert.Throws<DatasetException>(() => new LocalDatasetAccess([_root]).Resolve("shapes")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LinksInsideADataset_LeadingOut_AreNeitherReadNorWrittenThrough()
    {
        var dataset = Path.Combine(_root, "shapes");
        File.Copy(Path.Combine(Workspace.RepoRoot, "samples", "shapes", "wide-640x360.jpg"), Path.Combine(dataset, "wide-640x360.jpg"));
        File.CreateSymbolicLink(Path.Combine(dataset, "linked.jpg"), Path.Combine(_outside, "secret.jpg"));
        var outsideLabels = Path.Combine(_outside, "labels.json");
        File.WriteAllText(outsideLabels, """{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {}}""");
        File.CreateSymbolicLink(Path.Combine(dataset, LabelsFile.FileName), outsideLabels);
        var before = File.ReadAllText(outsideLabels);
        var backend = new LocalDatasetBackend(dataset, new LocalDatasetAccess([_root]));

        var read = await Assert.ThrowsAsync<DatasetException>(() => backend.ReadImageAsync("linked.jpg", 1 << 20, default));
        var write = await Assert.ThrowsAsync<DatasetException>(() => backend.UpdateLabelsAsync([LabelUpdate.Set(new("wide-640x360.jpg", SampleLabels.Empty))], default));
        var select = await Assert.ThrowsAsync<DatasetException>(() => backend.SelectAsync(null, default));

        Assert.All(new[] { read, write, select }, e => Assert.Contains("leads out of the dataset roots", e.Message, StringComparison.Ordinal));
        Assert.Equal(before, File.ReadAllText(outsideLabels));
        Assert.False(Directory.Exists(Path.Combine(_outside, ".owlbox")));
    }

    [Theory]
    [InlineData("https://studio.edgeimpulse.com/v1", true)]
    [InlineData("https://STUDIO.edgeimpulse.com/v1/", true)]
    [InlineData("https://studio.edgeimpulse.com:443/v1", true)]
    [InlineData("http://studio.edgeimpulse.com/v1", false)]
    [InlineData("https://studio.edgeimpulse.com:8443/v1", false)]
    [InlineData("https://studio.edgeimpulse.com@attacker.example/v1", false)]
    [InlineData("https://studio.edgeimpulse.com.attacker.example/v1", false)]
    [InlineData("https://studio.edgeimpulse.com/v1?x=1", false)]
    [InlineData("https://studio.edgeimpulse.com/v2", false)]
    [InlineData("file:///etc/passwd", false)]
    [InlineData("", false)]
    public void Endpoints_OnlyTheListedOnes(string endpoint, bool allowed)
    {
        var ok = true;
        try
        {
            EdgeImpulseEndpoints.RequireAllowed(endpoint, ["https://studio.edgeimpulse.com/v1"]);
        }
        catch (DatasetException)
        {
            ok = false;
        }
        Assert.Equal(allowed, ok);
    }

    [Fact]
    public async Task AJobNamingAnotherEndpoint_IsRefusedBeforeAnyConnection()
    {
        using var fakeStudio = new TcpListener(IPAddress.Loopback, 0);
        fakeStudio.Start();
        var port = ((IPEndPoint)fakeStudio.LocalEndpoint).Port;
        using var edgeImpulse = new EdgeImpulseDatasetKind(new EdgeImpulseAccessOptions(), () => "ei_server_key");
        var factory = new DatasetBackendFactory([new LocalDatasetKind(new LocalDatasetAccess([_root])), edgeImpulse]);

        var e = Assert.Throws<DatasetException>(() => factory.Open(EdgeImpulseDatasetKind.Kind, $"http://127.0.0.1:{port}/v1#1"));
        // A probe connection of the test's own, made after the refusal: the listener accepts in arrival order, so the
        // first connection it hands out is the probe's unless something reached the endpoint before it. No pause.
        using var probe = new TcpClient(AddressFamily.InterNetwork);
        await probe.ConnectAsync(IPAddress.Loopback, port);
        using var first = await fakeStudio.AcceptTcpClientAsync();

        Assert.Contains("is not one this deployment calls", e.Message, StringComparison.Ordinal);
        Assert.Equal(probe.Client.LocalEndPoint, first.Client.RemoteEndPoint); // nothing connected to the client-chosen endpoint
        Assert.False(fakeStudio.Pending(), "something connected to the client-chosen endpoint");
        Assert.DoesNotContain("ei_server_key", e.Message, StringComparison.Ordinal);
    }
}
