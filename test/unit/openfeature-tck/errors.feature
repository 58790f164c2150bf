# From the OpenFeature provider conformance suite (Appendix F), open-feature/spec,
# specification/assets/provider-tck/gherkin/errors.feature at 77f7b89dc2721f551bd4b77a681fb7c9bb9337c8
# (Apache-2.0). Scenarios verbatim; the upstream explanatory comments are left out.
Feature: Provider error handling

  Background:
    Given a stable provider

  Scenario Outline: Requesting the wrong type returns the code default
    Given a <requested>-flag with key "<key>" and a default value "<default>"
    When the flag was evaluated with details
    Then the resolved details value should be "<default>"
    And the reason should be "ERROR"
    And the error-code should be "TYPE_MISMATCH"
    And no exception should have been thrown

    Examples: a string flag requested as something else
      | key         | requested | default  |
      | string-flag | Boolean   | false    |
      | string-flag | Integer   | 1        |
      | string-flag | Float     | 0.1      |
      | wrong-flag  | Boolean   | false    |

    Examples: a boolean flag requested as something else
      | key          | requested | default  |
      | boolean-flag | String    | fallback |
      | boolean-flag | Integer   | 1        |
      | boolean-flag | Float     | 0.1      |

    Examples: a numeric flag requested as a non-numeric type
      | key          | requested | default  |
      | integer-flag | Boolean   | false    |
      | integer-flag | String    | fallback |
      | float-flag   | Boolean   | false    |
      | float-flag   | String    | fallback |

  @object
  Scenario Outline: Requesting a structured flag as a scalar returns the code default
    Given a <requested>-flag with key "object-flag" and a default value "<default>"
    When the flag was evaluated with details
    Then the resolved details value should be "<default>"
    And the reason should be "ERROR"
    And the error-code should be "TYPE_MISMATCH"
    And no exception should have been thrown

    Examples:
      | requested | default  |
      | Boolean   | false    |
      | String    | fallback |
      | Integer   | 1        |
      | Float     | 0.1      |

  @numeric-coercion
  Scenario: A float flag is not silently narrowed to an integer
    Given a Integer-flag with key "float-flag" and a default value "1"
    When the flag was evaluated with details
    Then the resolved details value should be "1"
    And the reason should be "ERROR"
    And the error-code should be "TYPE_MISMATCH"
    And no exception should have been thrown

  Scenario: An unknown flag key returns the code default
    Given a String-flag with key "missing-flag" and a default value "fallback"
    When the flag was evaluated with details
    Then the resolved details value should be "fallback"
    And the reason should be "ERROR"
    And the error-code should be "FLAG_NOT_FOUND"
    And no exception should have been thrown
