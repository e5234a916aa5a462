"""Identity data, pure functions of text: certificate numbers (certno), policy document numbers and the policy
de-duplication key (docno), issuer names and a policy's type and stage from its title and column (policytype)."""
