namespace Owlbox.ModelTool;

/// <summary>Writes full-size random-weight models in the hub layout (not committed: hundreds of MB; benchmarks cache
/// them under .cache/models).</summary>
public static class FullSizeModels
{
    public static void Write(string name, string directory)
    {
        var arch = name switch
        {
            "owlvit-base-patch32" => OwlArchitecture.OwlVitB32,
            "owlv2-base-patch16" => OwlArchitecture.Owlv2B16,
            _ => throw new ArgumentException($"unknown architecture '{name}'; use owlvit-base-patch32 or owlv2-base-patch16"),
        };
        var graph = FullSizeModelGraph.Build(arch);
        HubLayout.Write(directory, arch.ModelType, $"owlbox/{arch.Name}-random", arch.ImageSize, arch.PatchSize, new TestVocabulary(),
            graph.ToModelBytes(), arch.VisionHidden, arch.Projection);
    }
}
