namespace Owlbox.Labeling.Policies;

/// <summary>What happens to a sample's existing boxes (original Edge Impulse block: <c>--delete_existing_bounding_boxes</c>).</summary>
public enum DeleteExistingPolicy
{
    /// <summary><c>no</c>: keep every existing box and add the new ones.</summary>
    No,

    /// <summary><c>matching-prompt</c>: drop existing boxes whose label is one of the prompt's labels.</summary>
    MatchingPrompt,

    /// <summary><c>yes</c>: drop every existing box.</summary>
    Yes,
}

public static class DeleteExistingPolicyNames
{
    public static bool TryParse(string value, out DeleteExistingPolicy policy)
    {
        switch (value)
        {
            case "no": policy = DeleteExistingPolicy.No; return true;
            case "matching-prompt": policy = DeleteExistingPolicy.MatchingPrompt; return true;
            case "yes": policy = DeleteExistingPolicy.Yes; return true;
            default: policy = default; return false;
        }
    }

    public static string ToArgument(this DeleteExistingPolicy policy) => policy switch
    {
        DeleteExistingPolicy.No => "no",
        DeleteExistingPolicy.MatchingPrompt => "matching-prompt",
        _ => "yes",
    };
}
