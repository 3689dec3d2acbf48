using System.Text.Json;
using Owlbox.Cli;

namespace Owlbox.Cli.Tests;

/// <summary>parameters.json is what Studio turns into arguments: every parameter must be one the block reads, with
/// a default the block accepts.</summary>
public class BlockParametersTests
{
    private static readonly JsonElement s_root = JsonDocument.Parse(File.ReadAllText(Path.Combine(Workspace.RepoRoot, "parameters.json"))).RootElement;

    [Fact]
    public void Header_IsAnAiActionForObjectDetection()
    {
        Assert.Equal(1, s_root.GetProperty("version").GetInt32());
        Assert.Equal("ai-action", s_root.GetProperty("type").GetString());
        Assert.Equal("images_object_detection", Assert.Single(s_root.GetProperty("info").GetProperty("operatesOn").EnumerateArray()).GetString());
    }

    [Fact]
    public void EveryParameter_IsAnArgumentTheBlockReads_AndKeepsTheOriginalBlocksNames()
    {
        var names = s_root.GetProperty("parameters").EnumerateArray().ToDictionary(p => "--" + p.GetProperty("param").GetString(), p => p);

        foreach (var (name, p) in names)
        {
            var known = p.GetProperty("type").GetString() == "flag" ? OwlboxCli.JobFlagNames : OwlboxCli.JobValueNames;
            Assert.Contains(name, known);
        }
        string[] original = ["--prompt", "--delete_existing_bounding_boxes", "--ignore-objects-smaller-than", "--ignore-objects-larger-than", "--nms", "--nms-iou-threshold"];
        Assert.All(original, s => Assert.True(names.ContainsKey(s), s));
        Assert.Equal("A person (person, 0.2)", names["--prompt"].GetProperty("value").GetString());
        Assert.Equal("0.2", names["--nms-iou-threshold"].GetProperty("value").GetString());
    }

    [Fact]
    public void Selects_DefaultToOneOfTheirValues()
    {
        foreach (var p in s_root.GetProperty("parameters").EnumerateArray().Where(p => p.GetProperty("type").GetString() == "select"))
        {
            var values = p.GetProperty("valid").EnumerateArray().Select(v => v.GetProperty("value").GetString()).ToArray();
            Assert.Contains(p.GetProperty("value").GetString(), values);
        }
    }

    [Fact]
    public void Model_DefaultsToTheOriginalBlocksEnsemble_AsTheImageDoes_AndEveryWeightsFileReachesTheImage()
    {
        var parameters = s_root.GetProperty("parameters").EnumerateArray().ToDictionary(p => p.GetProperty("param").GetString()!);
        var model = parameters["model"].GetProperty("value").GetString();
        Assert.Equal("/models/owlv2-base-patch16-ensemble", model);
        Assert.Contains($"ENV OWLBOX_MODEL={model}", File.ReadAllText(Path.Combine(Workspace.RepoRoot, "Dockerfile")), StringComparison.Ordinal);
        Assert.All(parameters["model"].GetProperty("valid").EnumerateArray(), v => Assert.Matches("^/models/[a-z0-9-]+$", v.GetProperty("value").GetString()));

        // Each Weights choice is a file of the same export (not another folder), and .dockerignore lets it in.
        var kept = File.ReadAllLines(Path.Combine(Workspace.RepoRoot, ".dockerignore")).Where(l => l.StartsWith('!')).ToArray();
        foreach (var variant in parameters["model-variant"].GetProperty("valid").EnumerateArray().Select(v => v.GetProperty("value").GetString()!))
        {
            Assert.Contains($"!models/*/onnx/{Owlbox.Models.ModelDirectory.VariantFileName(variant)}", kept);
        }
        Assert.Contains("models/**/.git", File.ReadAllLines(Path.Combine(Workspace.RepoRoot, ".dockerignore")));
    }

    [Fact]
    public void WhatTheOriginalBlockLacks_SitsInTheAdvancedSection()
    {
        string[] shownFirst = ["prompt", "model", "delete_existing_bounding_boxes", "ignore-objects-smaller-than", "ignore-objects-larger-than", "nms", "nms-iou-threshold"];
        foreach (var p in s_root.GetProperty("parameters").EnumerateArray())
        {
            var param = p.GetProperty("param").GetString()!;
            var advanced = p.TryGetProperty("section", out var section) && section.GetString() == "advanced";
            Assert.True(advanced != shownFirst.Contains(param), $"{param}: advanced is {advanced}");
        }
    }

    [Fact]
    public void EveryModelTheBlockOffers_IsInTheDeploymentsCatalog_UnderItsFolderName()
    {
        var offered = s_root.GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("param").GetString() == "model")
            .GetProperty("valid").EnumerateArray().Select(v => Path.GetFileName(v.GetProperty("value").GetString()!)).ToArray();
        var k8s = File.ReadAllText(Path.Combine(Workspace.RepoRoot, "k8s", "config.yaml"));
        var compose = File.ReadAllText(Path.Combine(Workspace.RepoRoot, "docker-compose.yml"));
        var models = File.ReadAllText(Path.Combine(Workspace.RepoRoot, "k8s", "models-job.yaml"));
        foreach (var name in offered)
        {
            Assert.Contains($"Owlbox__Models__{name}: /models/{name}", k8s, StringComparison.Ordinal);
            Assert.Contains($"Owlbox__Models__{name}: /models/{name}", compose, StringComparison.Ordinal);
            Assert.Contains($"Xenova/{name}", models, StringComparison.Ordinal);
        }
    }
}
