using System.CommandLine;
using System.Globalization;
using Owlbox.Detection.Inference;
using Owlbox.ModelPreparation;
using Owlbox.Models;

namespace Owlbox.Cli;

/// <summary><c>owlbox models prepare &lt;model-dir&gt; [--model-variant v]</c>: writes the fast form of a published
/// single-graph export beside it (<see cref="ModelPreparer"/>), checked against the single graph first.</summary>
public static class ModelsCommand
{
    public static Command Create(CliContext io)
    {
        var folder = CliOptions.Positional("model-folder", "a published export (config.json, tokenizer.json, onnx/)");
        var variant = JobOptionGroup.ModelVariantOption();
        var prepare = new Command("prepare", "write the fast form of a published export beside it, checked against the single graph") { folder, variant };
        prepare.SetAction((p, cancellationToken) => PrepareAsync(p.GetValue(folder)!, p.GetValue(variant)!, io.Out, cancellationToken));
        return new Command("models", "prepare models") { prepare };
    }

    private static async Task<int> PrepareAsync(string directory, string variant, TextWriter stdout, CancellationToken cancellationToken)
    {
        PreparedModel prepared;
        try
        {
            prepared = ModelPreparer.Prepare(directory, variant, cancellationToken);
        }
        catch (ModelException e)
        {
            throw new JobSetupException(e.Message, e);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new CommandStoppedException($"stopped on request; the temporary files are gone, and a form of {directory} written before the stop is complete (models prepare again writes them all)", cancellationToken);
        }
        string G(double v) => v.ToString("G3", CultureInfo.InvariantCulture);
        await stdout.WriteLineAsync($"Split by data flow: the head is {prepared.HeadNodes} nodes; class embeddings '{prepared.Roles.ClassEmbeddings}', shift '{prepared.Roles.Shift}', scale '{prepared.Roles.Scale}', queries '{prepared.Roles.QueryEmbeddings}'").ConfigureAwait(false);
        await stdout.WriteLineAsync($"Image batch made dynamic ({prepared.ReshapesMadeDynamic} reshape constants rewritten); checked on two random images as one batch against the single graph: logits within {G(prepared.MaxLogitDifference)} (relative), boxes within {G(prepared.MaxBoxDifference)}").ConfigureAwait(false);
        await stdout.WriteLineAsync(prepared.FusedAttentions > 0
            ? $"Image encoder attention fused: {prepared.FusedAttentions} layers as ONNX Runtime's MultiHeadAttention"
            : "Image encoder attention kept as exported (no layer has the shape the fused kernel takes)").ConfigureAwait(false);
        await stdout.WriteLineAsync($"Wrote {prepared.ImageEncoderPath} and {prepared.TextEncoderPath}; owlbox runs this model in its split form from now on").ConfigureAwait(false);
        if (prepared.Int8Correlation is { } correlation)
        {
            await stdout.WriteLineAsync($"Wrote their int8 form (image_encoder_quantized.onnx, text_encoder_quantized.onnx; --model-variant quantized): logits correlate with fp32's at {correlation.ToString("0.0000", CultureInfo.InvariantCulture)}").ConfigureAwait(false);
        }
        if (prepared.Fp16Check is { } fp16)
        {
            await stdout.WriteLineAsync($"Wrote their fp16 form for GPUs (image_encoder_fp16.onnx, text_encoder_fp16.onnx; --model-variant fp16; float32 in and out, the class head in fp32): scores within {fp16.Score.ToString("0.0000", CultureInfo.InvariantCulture)} of fp32's, boxes within {fp16.BoxPixels.ToString("0.00", CultureInfo.InvariantCulture)} px").ConfigureAwait(false);
        }
        return OwlboxCli.Ok;
    }
}
