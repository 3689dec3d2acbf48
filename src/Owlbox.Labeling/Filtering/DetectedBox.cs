using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Labeling.Filtering;

/// <summary>One model hit: a prompt line scored on one image region, already in image pixels.</summary>
/// <param name="Score">Sigmoid of the model's logit for this (region, query) pair, 0..1.</param>
public sealed record DetectedBox(PromptLine Line, float Score, PixelBox Box)
{
    public string Label => Line.Label;
}
