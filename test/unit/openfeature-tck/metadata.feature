# From the OpenFeature provider conformance suite (Appendix F), open-feature/spec,
# specification/assets/provider-tck/gherkin/metadata.feature at d0be8429178d816ca514082d1753de20aad21756
# (Apache-2.0). Scenarios verbatim; the upstream explanatory comments are left out.
Feature: Provider metadata

  Scenario: A provider identifies itself by name
    Given a stable provider
    Then the provider metadata name should not be empty
