using Owlbox.ModelTool;

return args switch
{
    ["test-models", var dir] => Run(() => TestModels.WriteAll(dir), $"wrote owlvit-test and owlv2-test to {dir}"),
    ["samples", var dir] => Run(() => SampleImages.Write(dir), $"wrote sample images to {dir}"),
    ["full-size", var name, var dir] => Run(() => FullSizeModels.Write(name, dir), $"wrote {name} (random weights, real layer sizes) to {dir}"),
    ["hf-export", var type, var dir, .. var flags] => Run(() => HfOwlExport.Write(dir, new HfExportOptions
    {
        ModelType = type,
        DynamicBatch = !flags.Contains("--static"),
        PowSumSqrtNorm = flags.Contains("--pow-norm"),
        FullSize = flags.Contains("--full-size"),
    }), $"wrote {type} as torch.onnx traces Hugging Face's forward to {dir}"),
    _ => Usage(),
};

static int Run(Action action, string done)
{
    action();
    Console.WriteLine(done);
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage: owlbox-model-tool <command>
          test-models <dir>   write the colour test models (owlvit-test, owlv2-test) in the hub layout
          samples <dir>       write the bundled sample dataset (images, bounding_boxes.labels, prompt, ground truth)
          full-size <owlvit-base-patch32|owlv2-base-patch16> <dir>
                              write a random-weight model with the real architecture and the published layout, for benchmarks
          hf-export <owlvit|owlv2> <dir> [--static] [--pow-norm] [--full-size]
                              write a colour-detecting model traced as torch.onnx/optimum export HF's ForObjectDetection
                              (dynamic pixel batch unless --static; ReduceL2 norms unless --pow-norm; tiny unless --full-size)
        """);
    return 2;
}
