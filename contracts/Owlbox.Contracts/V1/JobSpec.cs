using System.Text.Json.Serialization;

namespace Owlbox.Contracts.V1;

/// <summary>Everything that defines a labeling job. Stored with the job; services read it by job id.</summary>
/// <param name="Model">A model id from the deployment's model catalog (or a directory, in the one-process mode).</param>
/// <param name="ModelVariant">"model" (fp32), "quantized", "fp16" or an ONNX file name.</param>
/// <param name="Prompt">Prompt text, one query per line, newlines already decoded.</param>
/// <param name="ProposeJobId">Preview mode when set: proposals are written under this id, labels are untouched.</param>
/// <param name="SampleIds">The samples to label; null means every sample of the dataset.</param>
/// <param name="Verification">Low-score detections checked by a vision language model before the writer; null (left out
/// of the stored spec, so a job without it keeps its identity) for none.</param>
/// <param name="Examples">The example boxes of the prompt's <c>[label]</c> lines; null when it has none, or when the
/// gateway is to gather them from the job's dataset at submission.</param>
public sealed record JobSpec(
    DatasetReference Dataset,
    string Model,
    string ModelVariant,
    string Prompt,
    JobOptions Options,
    string? ProposeJobId,
    IReadOnlyList<string>? SampleIds,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] VerificationSpec? Verification = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JobExamples? Examples = null);
