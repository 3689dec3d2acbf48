using Microsoft.ML.OnnxRuntime;
using Owlbox.Models;

namespace Owlbox.Detection.Inference;

/// <summary>How the detector opens ONNX Runtime sessions: one set of session options per model (execution provider,
/// threads per run, CUDA arena settings) shared by its sessions, and load failures turned into
/// <see cref="ModelException"/>s naming the file.</summary>
internal static class OrtSessions
{
    /// <param name="provider">"CPU" or "CUDA": the provider the sessions will really run on.</param>
    public static SessionOptions CreateOptions(DetectorOptions options, out string provider)
    {
        var so = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = options.IntraOpThreadsPerRun(Environment.ProcessorCount),
        };
        provider = "CPU";
        var wantsCuda = options.ExecutionProvider is "cuda" or "auto";
        if (wantsCuda)
        {
            try
            {
                using var cuda = new OrtCUDAProviderOptions();
                cuda.UpdateOptions(new Dictionary<string, string>
                {
                    ["device_id"] = options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    // Device memory comes from ONNX Runtime's arena and is reused run after run; growing it by what a
                    // run asks for (not the next power of two) keeps a second model or a larger batch on the card.
                    ["arena_extend_strategy"] = "kSameAsRequested",
                    // Shapes are fixed per model, so the exhaustive cuDNN search pays for itself on the first run.
                    ["cudnn_conv_algo_search"] = "EXHAUSTIVE",
                    ["do_copy_in_default_stream"] = "1",
                });
                so.AppendExecutionProvider_CUDA(cuda);
                provider = "CUDA";
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                if (options.ExecutionProvider == "cuda")
                {
                    so.Dispose();
                    throw new ModelException($"the CUDA execution provider is not available here: {e.Message}", e);
                }
            }
        }
        else if (options.ExecutionProvider != "cpu")
        {
            so.Dispose();
            throw new ModelException($"unknown execution provider '{options.ExecutionProvider}'; use cpu, cuda or auto");
        }
        return so;
    }

    public static InferenceSession Load(string path, SessionOptions options)
    {
        try
        {
            return new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelException($"ONNX Runtime cannot load '{path}': {e.Message}", e);
        }
    }
}
