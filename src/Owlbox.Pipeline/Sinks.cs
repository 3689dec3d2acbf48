using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Detection.Models;
using Owlbox.Labeling;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Policies;
using Owlbox.Labeling.Prompts;
using Owlbox.Labeling.Provenance;

namespace Owlbox.Pipeline;

/// <summary>Where a job's results go. Each sample's final boxes are computed from the dataset as it was when the job
/// opened it, so recording a sample twice, or flushing again after a crash, never stacks boxes.</summary>
internal interface ILabelSink
{
    string Destination { get; }
    void Record(LocalSample sample, IReadOnlyList<DetectedBox> kept);
    void RecordFailure(string sampleId, string reason);

    /// <summary>Writes everything recorded so far, atomically.</summary>
    void Flush();
}

/// <summary>Apply mode: rewrites <c>bounding_boxes.labels</c>.</summary>
internal sealed class LabelsFileSink(LocalDataset dataset, LabelingPrompt prompt, LabelingOptions options, OwlModel model) : ILabelSink
{
    private readonly LabelsFile _working = LabelsFile.Load(dataset.LabelsPath);
    private bool _dirty;

    public string Destination => dataset.LabelsPath;

    public void Record(LocalSample sample, IReadOnlyList<DetectedBox> kept)
    {
        var before = dataset.Labels;
        var added = kept.Select(d => LabeledBox.From(d.Label, d.Box)).ToArray();
        _working.SetBoxes(sample.Id, LabelMerge.Merge(before.GetBoxes(sample.Id), added, prompt.Labels.ToHashSet(StringComparer.Ordinal), options.DeleteExisting));
        _working.SetMetadata(sample.Id, LabelingMetadata.Merge(before.GetMetadata(sample.Id), model.TypeName, model.ModelId, prompt.Text));
        _dirty = true;
    }

    public void RecordFailure(string sampleId, string reason)
    {
        // A failed sample keeps its labels exactly as they were.
    }

    public void Flush()
    {
        if (_dirty)
        {
            _working.Save(dataset.LabelsPath);
            _dirty = false;
        }
    }
}

/// <summary>Preview mode (<c>--propose-actions</c>): writes a proposal set, never the labels.</summary>
internal sealed class ProposalSink : ILabelSink
{
    private readonly LocalDataset _dataset;
    private readonly LabelingPrompt _prompt;
    private readonly LabelingOptions _options;
    private readonly OwlModel _model;
    private readonly ProposalStore _store;
    private readonly ProposalSet _set;
    private bool _dirty = true;

    public ProposalSink(LocalDataset dataset, string jobId, LabelingPrompt prompt, LabelingOptions options, OwlModel model)
    {
        (_dataset, _prompt, _options, _model) = (dataset, prompt, options, model);
        _store = new ProposalStore(dataset.Directory);
        _set = new ProposalSet
        {
            JobId = ProposalStore.ValidateJobId(jobId),
            CreatedUtc = DateTimeOffset.UtcNow,
            ModelId = model.ModelId,
            ModelType = model.TypeName,
            Prompt = prompt.Text,
            DeleteExisting = options.DeleteExisting.ToArgument(),
        };
    }

    public string Destination => _store.PathFor(_set.JobId);

    public void Record(LocalSample sample, IReadOnlyList<DetectedBox> kept)
    {
        var existing = _dataset.Labels.GetBoxes(sample.Id);
        var added = kept.Select(d => LabeledBox.From(d.Label, d.Box)).ToArray();
        _set.Samples.RemoveAll(s => s.SampleId == sample.Id);
        _set.Samples.Add(new SampleProposal(
            sample.Id,
            existing,
            LabelMerge.Merge(existing, added, _prompt.Labels.ToHashSet(StringComparer.Ordinal), _options.DeleteExisting),
            LabelingMetadata.Merge(_dataset.Labels.GetMetadata(sample.Id), _model.TypeName, _model.ModelId, _prompt.Text),
            kept.Select(d => new ProposedBox(d.Label, d.Box.X, d.Box.Y, d.Box.Width, d.Box.Height, BoxProvenance.For(d, _model.ModelId, _options))).ToArray()));
        _dirty = true;
    }

    public void RecordFailure(string sampleId, string reason)
    {
        _set.Failed.RemoveAll(f => f.SampleId == sampleId);
        _set.Failed.Add(new FailedSample(sampleId, reason));
        _dirty = true;
    }

    public void Flush()
    {
        if (_dirty)
        {
            _store.Save(_set);
            _dirty = false;
        }
    }
}
