using System.CommandLine;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Labeling;
using Owlbox.Pipeline;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Policies;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Cli;

/// <summary>The options that define a labeling job, declared once for every verb that starts one (<c>label</c>,
/// <c>submit</c>, <c>calibrate</c>, <c>block</c>). The names follow the Edge Impulse OWL block; the defaults are
/// <see cref="LabelingOptions"/>'s, the one source of the job's defaults.</summary>
public sealed class JobOptionGroup
{
    private static readonly LabelingOptions s_defaults = new();

    public Option<string> Model { get; } = CliOptions.Text("--model", "model folder (label, calibrate, block) or the deployment's model id (submit)", "model");
    public Option<string> ModelVariant { get; } = ModelVariantOption();
    public Option<string> Prompt { get; } = CliOptions.Text("--prompt", "one query per line: search text (label, min_confidence); a literal \\n separates lines", "lines");
    public Option<string> PromptFile { get; } = CliOptions.Text("--prompt-file", "the prompt, read from a file", "file");
    public Option<string> DeleteExisting { get; } = CliOptions.Text("--delete_existing_bounding_boxes", "no | matching-prompt | yes", "policy", s_defaults.DeleteExisting.ToArgument());
    public Option<bool> Nms { get; } = CliOptions.Flag("--nms", "per-label non-max suppression (on unless --no-nms; the block: only when given, as Studio's tick box)");
    public Option<bool> NoNms { get; } = CliOptions.Flag("--no-nms", "no non-max suppression");
    public Option<double> NmsIouThreshold { get; } = CliOptions.Number("--nms-iou-threshold", "overlap above which NMS drops the lower-scored box", s_defaults.Filter.NmsIouThreshold);
    public Option<bool> ClassAgnosticNms { get; } = CliOptions.Flag("--class-agnostic-nms", "suppress overlapping boxes across labels too");
    public Option<double> IgnoreSmaller { get; } = CliOptions.Number("--ignore-objects-smaller-than", "percent of the image area; 0 disables", s_defaults.Filter.IgnoreSmallerThanPercent, "percent");
    public Option<double> IgnoreLarger { get; } = CliOptions.Number("--ignore-objects-larger-than", "percent of the image area; 0 disables", s_defaults.Filter.IgnoreLargerThanPercent, "percent");
    public Option<double> ScoreFloor { get; } = CliOptions.Number("--score-floor", "scores at or below never count (the HF pipeline's threshold)", s_defaults.ScoreFloor);
    public Option<string> ProposeActions { get; } = CliOptions.Text("--propose-actions", "preview: write a proposal set of this id, leave labels untouched", "job-id");
    public Option<string> DataIdsFile { get; } = CliOptions.Text("--data-ids-file", "JSON array of ids (file names or stems), or {\"ids\": [...]}: label only these", "file");
    public Option<double?> VerifyBelow { get; } = new("--verify-below")
    {
        Description = "show detections scored below this to a vision language model, which keeps, relabels or removes each (key: OPENAI_API_KEY)",
        HelpName = "score",
    };
    public Option<string> LlmEndpoint { get; } = CliOptions.Text("--llm-endpoint", "OpenAI-compatible base URL of the vision model (OpenAI, Azure OpenAI v1, Ollama, vLLM, ...)", "url", "https://api.openai.com/v1");
    public Option<string> LlmModel { get; } = CliOptions.Text("--llm-model", "the vision model's name", "name", "gpt-4o-2024-08-06");
    public Option<string> PromptVerify { get; } = CliOptions.Text("--prompt-verify", "the question sent with each crop (default: which of the prompt's labels it shows, or 'remove')", "text");
    public Option<int?> MaxLlmCalls { get; } = new("--max-llm-calls")
    {
        Description = "at most this many vision model calls; the boxes left are written as detected, and counted",
        HelpName = "n",
    };

    public IReadOnlyList<Option> All =>
    [
        Model, ModelVariant, Prompt, PromptFile, DeleteExisting, Nms, NoNms, NmsIouThreshold, ClassAgnosticNms, IgnoreSmaller, IgnoreLarger,
        ScoreFloor, ProposeActions, DataIdsFile, VerifyBelow, LlmEndpoint, LlmModel, PromptVerify, MaxLlmCalls,
    ];

    /// <summary><c>--model-variant</c>, for every verb that loads a model.</summary>
    public static Option<string> ModelVariantOption() =>
        CliOptions.Text("--model-variant", "model (fp32) | quantized | fp16 | <file>.onnx under onnx/", "variant", "model");

    /// <summary><c>--execution-provider</c>, for every verb that runs the detector here.</summary>
    public static Option<string> ExecutionProviderOption()
    {
        var option = CliOptions.Text("--execution-provider", "auto | cpu | cuda", "provider", "auto");
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && result.Tokens[^1].Value is not ("auto" or "cpu" or "cuda"))
            {
                result.AddError($"--execution-provider must be auto, cpu or cuda, got '{result.Tokens[^1].Value}'");
            }
        });
        return option;
    }

    /// <param name="nmsByDefault">The CLI runs NMS unless told not to; the block follows the original Edge Impulse
    /// block, where Studio passes <c>--nms</c> only when the box is ticked.</param>
    public JobSpec Read(ParseResult parsed, DatasetReference dataset, Func<string, string> resolveModel, bool nmsByDefault = true, string? model = null)
    {
        model ??= parsed.GetValue(Model) ?? throw new UsageException("--model is required");
        var prompt = (parsed.GetValue(Prompt), parsed.GetValue(PromptFile)) switch
        {
            ({ } text, null) => PromptGrammar.DecodeEscapedNewlines(text),
            (null, { } file) => File.Exists(file) ? File.ReadAllText(file) : throw new UsageException($"--prompt-file '{file}' does not exist"),
            (null, null) => throw new UsageException("--prompt or --prompt-file is required"),
            _ => throw new UsageException("give --prompt or --prompt-file, not both"),
        };
        var policyText = parsed.GetValue(DeleteExisting)!;
        if (!DeleteExistingPolicyNames.TryParse(policyText, out var policy))
        {
            throw new UsageException($"--delete_existing_bounding_boxes must be no, matching-prompt or yes, got '{policyText}'");
        }
        var labeling = new LabelingOptions
        {
            ScoreFloor = parsed.GetValue(ScoreFloor),
            DeleteExisting = policy,
            Filter = new FilterOptions
            {
                Nms = parsed.Flag(Nms, nmsByDefault) && !parsed.Flag(NoNms, false),
                NmsIouThreshold = parsed.GetValue(NmsIouThreshold),
                ClassAgnosticNms = parsed.Flag(ClassAgnosticNms, s_defaults.Filter.ClassAgnosticNms),
                IgnoreSmallerThanPercent = parsed.GetValue(IgnoreSmaller),
                IgnoreLargerThanPercent = parsed.GetValue(IgnoreLarger),
            },
        };
        var propose = parsed.GetValue(ProposeActions);
        return new JobSpec(
            dataset,
            resolveModel(model),
            parsed.GetValue(ModelVariant)!,
            prompt,
            labeling.ToContract(),
            string.IsNullOrWhiteSpace(propose) ? null : propose,
            parsed.GetValue(DataIdsFile) is { } idsFile ? SampleIds.ReadFile(idsFile) : null,
            ReadVerification(parsed));
    }

    /// <summary>The verification stage, when <c>--verify-below</c> asks for one; its other options alone are an error
    /// (they would silently do nothing).</summary>
    private VerificationSpec? ReadVerification(ParseResult parsed)
    {
        if (parsed.GetValue(VerifyBelow) is not { } below)
        {
            var stray = new Option[] { LlmEndpoint, LlmModel, PromptVerify, MaxLlmCalls }.FirstOrDefault(parsed.IsGiven);
            return stray is null ? null : throw new UsageException($"{stray.Name} needs --verify-below (the score under which detections are verified)");
        }
        if (!(below > 0 && below <= 1))
        {
            throw new UsageException($"--verify-below must be above 0 and at most 1, got {below}");
        }
        var endpoint = parsed.GetValue(LlmEndpoint)!;
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new UsageException($"--llm-endpoint must be an http or https URL, got '{endpoint}'");
        }
        var model = parsed.GetValue(LlmModel)!;
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new UsageException("--llm-model is empty");
        }
        var max = parsed.GetValue(MaxLlmCalls);
        if (max is < 0)
        {
            throw new UsageException($"--max-llm-calls must be 0 or more, got {max}");
        }
        var question = parsed.GetValue(PromptVerify);
        return new VerificationSpec(below, endpoint, model, string.IsNullOrWhiteSpace(question) ? null : PromptGrammar.DecodeEscapedNewlines(question), max);
    }
}
