# From the OpenFeature provider conformance suite (Appendix F), open-feature/spec,
# specification/assets/provider-tck/gherkin/reason.feature at 86ca9ba3b06b122fb10295608fe9e3d613f11625
# (Apache-2.0). Scenarios verbatim; the upstream explanatory comments are left out.
@standard-reasons
Feature: Provider resolution reasons

  Background:
    Given a stable provider

  Scenario Outline: A flag with no targeting rules resolves statically
    Given a <type>-flag with key "<key>" and a default value "<default>"
    When the flag was evaluated with details
    Then the reason should be "STATIC"
    And the error-code should be ""
    And no exception should have been thrown

    Examples:
      | key          | type    | default |
      | boolean-flag | Boolean | false   |
      | string-flag  | String  | bye     |
      | integer-flag | Integer | 1       |
      | float-flag   | Float   | 0.1     |

  Scenario: An unknown flag reports an error
    Given a String-flag with key "missing-flag" and a default value "fallback"
    When the flag was evaluated with details
    Then the reason should be "ERROR"
    And the error-code should be "FLAG_NOT_FOUND"
    And no exception should have been thrown

  Scenario: A type mismatch reports an error
    Given a String-flag with key "boolean-flag" and a default value "fallback"
    When the flag was evaluated with details
    Then the reason should be "ERROR"
    And the error-code should be "TYPE_MISMATCH"
    And no exception should have been thrown

  @targeting
  Scenario: A matching targeting rule reports a targeting match
    Given a String-flag with key "targeting-key-flag" and a default value "fallback"
    And a context containing a targeting key with value "5c3d8535-f81a-4478-a6d3-afaa4d51199e"
    When the flag was evaluated with details
    Then the reason should be "TARGETING_MATCH"
    And the error-code should be ""
    And no exception should have been thrown

  @targeting
  Scenario: A targeting rule that does not match reports the default
    Given a String-flag with key "targeting-key-flag" and a default value "fallback"
    And a context containing a targeting key with value "f20bd32d-703b-48b6-bc8e-79d53c85134a"
    When the flag was evaluated with details
    Then the reason should be "DEFAULT"
    And the error-code should be ""
    And no exception should have been thrown

  @disabled-flags
  Scenario: A disabled flag reports that it is disabled
    Given a Boolean-flag with key "disabled-boolean-flag" and a default value "false"
    When the flag was evaluated with details
    Then the reason should be "DISABLED"
    And the error-code should be ""
    And no exception should have been thrown
