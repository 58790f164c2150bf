# From the OpenFeature provider conformance suite (Appendix F), open-feature/spec,
# specification/assets/provider-tck/gherkin/evaluation.feature at 0df2397513c2a4a767851203ea900a4743c87bc8
# (Apache-2.0). Scenarios verbatim; the upstream explanatory comments are left out.
Feature: Provider flag evaluation

  Background:
    Given a stable provider

  Scenario Outline: Resolve values with reason
    Given a <type>-flag with key "<key>" and a default value "<default>"
    When the flag was evaluated with details
    Then the resolved details value should be "<value>"
    And the reason should be "<reason>"
    And the error-code should be ""
    And the error message should be empty
    And no exception should have been thrown

    Examples:
      | key          | type    | default | value | reason |
      | boolean-flag | Boolean | false   | true  | STATIC |
      | string-flag  | String  | bye     | hi    | STATIC |
      | integer-flag | Integer | 1       | 10    | STATIC |
      | float-flag   | Float   | 0.1     | 0.5   | STATIC |

  Scenario Outline: A falsy value is a value, not an absence
    Given a <type>-flag with key "<key>" and a default value "<default>"
    When the flag was evaluated with details
    Then the resolved details value should be "<value>"
    And the reason should be "STATIC"
    And the error-code should be ""
    And the error message should be empty
    And no exception should have been thrown

    Examples:
      | key               | type    | default  | value |
      | boolean-zero-flag | Boolean | true     | false |
      | integer-zero-flag | Integer | 1        | 0     |
      | string-zero-flag  | String  | fallback |       |

  @variants
  Scenario Outline: The resolved details name the variant
    Given a <type>-flag with key "<key>" and a default value "<default>"
    When the flag was evaluated with details
    Then the variant should be "<variant>"
    And the error-code should be ""
    And the error message should be empty
    And no exception should have been thrown

    Examples:
      | key                | type    | default  | variant   |
      | boolean-flag       | Boolean | false    | on        |
      | string-flag        | String  | bye      | greeting  |
      | integer-flag       | Integer | 1        | ten       |
      | float-flag         | Float   | 0.1      | half      |
      | boolean-zero-flag  | Boolean | true     | zero      |
      | integer-zero-flag  | Integer | 1        | zero      |
      | string-zero-flag   | String  | fallback | zero      |
      | large-integer-flag | Integer | 1        | max-int32 |

  Scenario: A large integer resolves without loss of precision
    Given a Integer-flag with key "large-integer-flag" and a default value "1"
    When the flag was evaluated with details
    Then the resolved details value should be "2147483647"
    And the reason should be "STATIC"
    And the error-code should be ""
    And no exception should have been thrown

  @large-integers
  Scenario: An integer beyond 32 bits resolves without loss of precision
    Given a Integer-flag with key "huge-integer-flag" and a default value "1"
    When the flag was evaluated with details
    Then the resolved details value should be "9007199254740991"
    And the reason should be "STATIC"
    And the error-code should be ""
    And no exception should have been thrown

  Scenario: An integer flag resolves as an integer
    Given a Integer-flag with key "integer-flag" and a default value "1"
    When the flag was evaluated with details
    Then the resolved details value should be "10"
    And the error-code should be ""
    And the error message should be empty
    And no exception should have been thrown

  Scenario: A float flag resolves as a float
    Given a Float-flag with key "float-flag" and a default value "0.1"
    When the flag was evaluated with details
    Then the resolved details value should be "0.5"
    And the error-code should be ""
    And the error message should be empty
    And no exception should have been thrown

  @disabled-flags
  Scenario Outline: A disabled flag resolves to the code default
    Given a <type>-flag with key "<key>" and a default value "<default>"
    When the flag was evaluated with details
    Then the resolved details value should be "<default>"
    And the error-code should be ""
    And the error message should be empty
    And no exception should have been thrown

    Examples:
      | key                   | type    | default |
      | disabled-boolean-flag | Boolean | false   |
      | disabled-string-flag  | String  | bye     |
      | disabled-integer-flag | Integer | 1       |
      | disabled-float-flag   | Float   | 0.1     |

  @object
  Scenario: Resolve a structured value
    Given a Object-flag with key "object-flag" and a default value "{}"
    When the flag was evaluated with details
    Then the reason should be "STATIC"
    And the error-code should be ""
    And the error message should be empty
    And no exception should have been thrown
    And the resolved object value should contain
      | key           | type    | value                 |
      | showImages    | Boolean | true                  |
      | title         | String  | Check out these pics! |
      | imagesPerPage | Integer | 100                   |
  Scenario: Supplying an evaluation context does not disturb an untargeted resolution
    Given a String-flag with key "string-flag" and a default value "bye"
    And a context containing a targeting key with value "f20bd32d-703b-48b6-bc8e-79d53c85134a"
    When the flag was evaluated with details
    Then the resolved details value should be "hi"
    And the error-code should be ""
    And the error message should be empty
    And no exception should have been thrown

  @targeting
  Scenario: A matching evaluation context resolves the targeted variant
    Given a String-flag with key "targeting-key-flag" and a default value "fallback"
    And a context containing a targeting key with value "5c3d8535-f81a-4478-a6d3-afaa4d51199e"
    When the flag was evaluated with details
    Then the resolved details value should be "hit"
    And the error-code should be ""
    And no exception should have been thrown

  @targeting
  Scenario: A non-matching evaluation context resolves the default variant
    Given a String-flag with key "targeting-key-flag" and a default value "fallback"
    And a context containing a targeting key with value "f20bd32d-703b-48b6-bc8e-79d53c85134a"
    When the flag was evaluated with details
    Then the resolved details value should be "miss"
    And the error-code should be ""
    And no exception should have been thrown

  @targeting
  Scenario: No evaluation context resolves the default variant
    Given a String-flag with key "targeting-key-flag" and a default value "fallback"
    When the flag was evaluated with details
    Then the resolved details value should be "miss"
    And the error-code should be ""
    And no exception should have been thrown
