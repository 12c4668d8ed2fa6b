"""Scenario templates for the corpus: data only.

A template is text with ``{slot}`` placeholders that generate.py fills.  Labeled
slots (``ssn``, ``ssn_plain``, ``itin``, ``itin_plain``, ``ein``, ``ein_plain``,
``card``, ``rtn``, ``rtn_dash``, ``sce_cust``, ``sce_svc``, ``water``, ``edm``,
``ssn_num``, ``phone``, ``phone_tf``) become labels; a ``*_plain``, ``rtn*``,
``sce_*`` or ``water`` slot is only a finding because of the context word the
template puts right before it.  Every other slot is a hard negative or filler.
"""

from __future__ import annotations

ORGS = (
    {"domain": "citrus.example", "name": "Citrus County Utilities", "short": "Citrus County",
     "dept": ("Water Resources", "Utility Billing", "Customer Service", "Finance"),
     "street": "3600 W Sovereign Path", "city": "Lecanto", "state": "FL", "zip": "34461", "area": ("352",),
     "utility": "Citrus County Utilities"},
    {"domain": "lancaster.example", "name": "City of Lancaster", "short": "Lancaster",
     "dept": ("Lancaster Choice Energy", "Finance", "Human Resources", "Development Services"),
     "street": "44933 Fern Ave", "city": "Lancaster", "state": "CA", "zip": "93534", "area": ("661",),
     "utility": "Lancaster Choice Energy"},
    {"domain": "pomona.example", "name": "City of Pomona", "short": "Pomona",
     "dept": ("Pomona Choice Energy", "Water Resources", "Finance", "Human Resources"),
     "street": "505 S Garey Ave", "city": "Pomona", "state": "CA", "zip": "91766", "area": ("909",),
     "utility": "Pomona Choice Energy"},
    {"domain": "cerritos.example", "name": "City of Cerritos", "short": "Cerritos",
     "dept": ("Finance", "Human Resources", "Community Development", "Water and Power"),
     "street": "18125 Bloomfield Ave", "city": "Cerritos", "state": "CA", "zip": "90703", "area": ("562",),
     "utility": "Cerritos Water and Power"},
    {"domain": "pvestates.example", "name": "City of Palos Verdes Estates", "short": "Palos Verdes Estates",
     "dept": ("City Clerk", "Finance", "Planning and Building", "Public Works"),
     "street": "340 Palos Verdes Dr W", "city": "Palos Verdes Estates", "state": "CA", "zip": "90274",
     "area": ("310", "424"), "utility": "Palos Verdes Estates Public Works"},
    {"domain": "riverbend.example", "name": "Riverbend Municipal Utilities", "short": "Riverbend",
     "dept": ("Customer Accounts", "Engineering", "Finance", "Human Resources"),
     "street": "210 N Main St", "city": "Riverside", "state": "CA", "zip": "92501", "area": ("951",),
     "utility": "Riverbend Municipal Utilities"},
)

AREA_CODES = ("213", "310", "323", "352", "408", "415", "510", "562", "619", "626", "657", "661", "714",
              "760", "805", "818", "858", "909", "916", "949", "951")
TOLL_FREE = ("800", "833", "844", "855", "866", "877", "888")

FIRST = ("Maria", "James", "Linda", "Robert", "Patricia", "Michael", "Jennifer", "David", "Elizabeth",
         "Daniel", "Susan", "Carlos", "Karen", "Anthony", "Nancy", "Kevin", "Lisa", "Brian", "Angela",
         "Jose", "Michelle", "Thomas", "Sandra", "Eric", "Rosa", "Steven", "Kimberly", "Luis", "Donna",
         "Jason", "Carol", "Ryan", "Amanda", "Gary", "Melissa", "Juan", "Deborah", "Frank", "Laura", "Hector")
LAST = ("Garcia", "Nguyen", "Smith", "Johnson", "Martinez", "Lee", "Hernandez", "Brown", "Lopez", "Kim",
        "Gonzalez", "Wilson", "Perez", "Anderson", "Rivera", "Thomas", "Chen", "Moore", "Ramirez", "Jackson",
        "Torres", "White", "Flores", "Harris", "Patel", "Clark", "Sanchez", "Lewis", "Robinson", "Walker",
        "Reyes", "Young", "Cruz", "Allen", "Ortiz", "King", "Morales", "Wright", "Castillo", "Scott")
STREETS = ("Oak Ave", "Sierra Hwy", "Avenue J", "Holt Ave", "Mission Blvd", "Elm St", "Palos Verdes Dr N",
           "Gridley Rd", "Carmenita Rd", "Citrus Ave", "Lemon Ave", "Foothill Blvd", "Pine Ridge Rd",
           "Magnolia Ave", "Valley Blvd", "W Gulf to Lake Hwy", "N Lecanto Hwy", "Via Campesina", "10th St W")
CITIES = (("Lancaster", "CA", "935"), ("Palmdale", "CA", "935"), ("Pomona", "CA", "917"), ("Cerritos", "CA", "907"),
          ("Palos Verdes Estates", "CA", "902"), ("Riverside", "CA", "925"), ("Inverness", "FL", "344"),
          ("Crystal River", "FL", "344"), ("Lecanto", "FL", "344"), ("San Diego", "CA", "921"))
COMPANIES = ("Acme Paving Inc.", "Desert Sun Electric LLC", "Coastal Pipe & Supply", "Hillside Landscaping",
             "Bright Path Consulting", "Summit Traffic Control", "Gulf Coast Meter Services", "Pacific Print Works",
             "Valley Janitorial Co.", "Sunrise Tree Care", "Mesa Engineering Group", "Harbor Office Supply")
BANKS = ("Chase Bank", "Wells Fargo Bank", "Bank of America", "U.S. Bank", "Citizens Business Bank",
         "Bank of the West", "Mechanics Bank", "Fifth Third Bank", "Capital One Bank", "Regions Bank")
TITLES = ("Customer Service Representative", "Utility Billing Specialist", "Senior Accountant", "Payroll Technician",
          "HR Analyst", "Permit Technician", "Deputy City Clerk", "Accounts Payable Clerk", "Management Analyst",
          "Collections Specialist", "Program Manager", "Building Inspector", "IT Analyst", "Revenue Supervisor")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
PROJECTS = ("Avenue K resurfacing", "Well 14 rehabilitation", "Civic Center HVAC", "Library roof replacement",
            "LED streetlight retrofit", "Lift station 3 upgrade", "Park restroom ADA", "Storm drain lining")
PROGRAMS = ("Smart Rebates", "Power Share", "Clean Power Plus", "Demand Response", "Water Wise Landscape",
            "Leak Detection", "Residential Energy Efficiency")
RESULTS = ("approved", "partial approval", "correction required", "not ready", "approved with conditions")

GREETINGS = ("Hi {first},", "Good morning {first},", "Dear {name}:", "Hello,", "{first},", "Good afternoon,",
             "Dear Customer,", "Hi all,", "Hello {first},")
CLOSINGS = ("Thanks,", "Thank you,", "Regards,", "Best regards,", "Respectfully,", "Sincerely,", "Thanks again,")
SIGNATURES = (
    "{staff}\n{title}, {dept}\n{orgname}\n{org_addr}\nPhone: {phone} | Fax: {phone}",
    "{staff}\n{title}\n{dept} | {orgname}\nDirect {phone}\n{org_addr}",
    "{staff} | {title}\n{orgname}\nT {phone}  M {phone}",
    "{staff}\n{dept}\n{orgname} - {org_addr}\nMain line {phone_tf}",
    "--\n{staff}\n{title}\n{orgname}\n{phone}",
)
PVE_DISCLAIMER = ("This e-mail and any attachments are intended only for the use of the addressee and may contain "
                  "information that is privileged or confidential. If you are not the intended recipient, please "
                  "notify the sender and delete this message.")

COMMON_CLEAN = (
    "Our offices are open Monday through Thursday, 7:30 a.m. to 5:30 p.m. You can also reach the front desk "
    "at {phone}.",
    "City Hall will be closed on {date_long} for the holiday; online services remain available.",
    "The self-service portal will be down for maintenance on {date_iso} from {time} to {time2} "
    "(change {guid}).",
    "If you have questions, please reply to this email or call {phone}.",
    "For your records, the reference number for this request is {ticket}.",
    "The next council meeting is {date_long}; the agenda will be posted 72 hours in advance.",
    "Please allow 7 to 10 business days for processing.",
    "Invalid placeholder numbers such as {bad_ssn} are rejected by the system automatically.",
    "The after-hours emergency line is {phone_tf}.",
    "Delivery is confirmed under tracking {tracking}.",
)

# Sentences built around hard negatives; mixed into every clean message and some others.
HARD_NEGATIVES = (
    "The SSN field on the old form was left as {bad_ssn_plain}, which is not a valid number.",
    "Confirmation {rtn_free} was issued for your payment.",
    "Customer number {acct10_near} was not found in the billing system.",
    "Order {bad_card} shipped on {date_us}.",
    "Placeholder test values ({bad_ssn}, {atin}, {bad_ein}) are used in the training environment.",
    "The applicant's ITIN, {atin_plain}, is actually an ATIN and cannot be accepted.",
    "Routing number {bad_rtn} failed validation.",
    "Card {bad_card} failed the check digit test.",
    "EIN {bad_ein} is not assigned by the IRS.",
    "Ticket reference {nine}; the caller left {fict_phone} as a call-back number.",
    "SSN: {bad_ssn}",
    "Reference number {acct10}.",
    "Tax ID {bad_ein_plain} is not valid.",
    "Sample card from the training deck: {bad_card}.",
)

# kind -> scenario.  "pos" paragraphs hold at least one labeled value; "clean" ones only
# hard negatives and filler; "edm" paragraphs list customer numbers with no context word.
SCENARIOS: dict[str, dict[str, tuple[str, ...]]] = {
    "billing-dispute": {
        "subjects": ("Re: High bill inquiry - {street}", "Billing dispute follow-up ({case_no})",
                     "Your {month} utility bill", "Re: Question about my last bill", "Meter re-read results",
                     "Bill adjustment approved"),
        "subjects_pos": ("Re: Dispute on acct {water}", "SCE account {sce_cust} - bill review",
                         "Billing dispute - account number {water}"),
        "pos": (
            "I am writing about the bill for account number {water}. The {month} statement shows {ccf} CCF, "
            "which is more than double our usual usage.",
            "Per our records, customer account {sce_cust} was billed {amount} for the period ending {date_us}. "
            "Please call me at {phone} so we can review the estimated read.",
            "We reviewed the meter history for acct# {water} and found a read error on {date_iso}; "
            "a credit of {amount} will post within two billing cycles.",
            "The Edison service account {sce_svc} shows an estimated read for {month}. The actual read on "
            "{date_long} was {reading}.",
            "Customer {name} disputes the charge on account no. {water} and can be reached at {phone}.",
        ),
        "edm": (
            "The following customer numbers were affected by the route 14 misread: {edm}, {edm} and {edm}.",
            "Please re-bill {edm} using the corrected read of {reading}.",
        ),
        "clean": (
            "Thank you for contacting {utility} about your {month} bill. We re-read the meter on {date_long} "
            "and the reading ({reading}) matches the one on your statement.",
            "A field technician (work order {wo}) checked for leaks at {addr}; none were found.",
            "The adjusted amount is {amount}; it will appear on your next statement as a credit.",
            "Your dispute was logged as case {case_no}. You may call our customer service line at {phone} "
            "Monday through Friday.",
            "For reference, meter {meter} was installed on {date_us} and tested within 1.5% of accuracy.",
            "Account opened {date_us}; meter {meter} was replaced on {date_iso}.",
            "Acct. history since 2019: meter {meter} read {reading} on {date_us}.",
            "Usage for the last three periods was {ccf}, {ccf} and {ccf} CCF.",
            "The read route was updated under change order {nine}.",
            "We could not match the number you gave us ({acct10}) to any customer on file; please check "
            "your latest statement.",
        ),
    },
    "collections": {
        "subjects": ("Past due balances - weekly report", "Collections referral batch {batch}",
                     "[purpose:collections] Final notice list", "Re: Payment promise follow-up",
                     "Collection agency reconciliation"),
        "subjects_pos": ("Final notice - account {water}", "Skip trace request SSN {ssn}"),
        "pos": (
            "Final notice: the balance of {amount} on account {water} is 60 days past due. Service will be "
            "discontinued on {date_long} unless payment is received.",
            "For the credit bureau file: debtor {name}, SSN {ssn_plain}, last known phone {phone}.",
            "The agency asked us to confirm the debtor's Social Security number, {ssn}, before they report it.",
            "Payment was attempted with card {card} and declined; the customer said she would call {phone}.",
            "The debtor has no SSN; the credit application lists ITIN {itin_plain}.",
            "Commercial debtor {company}, EIN {ein}, owes {amount} on the closed construction meter.",
            "{name}, {ssn}, balance {amount}, last payment {date_us}.",
            "Charged {amount} to {card} on {date_us}; the charge was reversed.",
            "Debtor {name} (taxpayer number {itin}) disputes the referral.",
            "Please place a hold on account number {water} until the bankruptcy stay is lifted.",
        ),
        "edm": (
            "Customers referred to the agency this week: {edm} ({amount}), {edm} ({amount}) and {edm} "
            "({amount}).",
            "Remove {edm} from the referral list; the balance was paid in full on {date_us}.",
        ),
        "clean": (
            "Collections report for {month}: 42 referrals, total past due {big_amount}.",
            "Customer {name} promised to pay {amount} by {date_us}; reference {invoice}.",
            "Please do not include full Social Security numbers in email; use the last four digits only "
            "(for example {masked_ssn}).",
            "The agency's file number is {case_no} and their office can be reached at {phone}.",
            "The SSN we have on file, {bad_ssn}, appears to be a placeholder from the old system; please "
            "obtain the correct number from the customer.",
            "Recovered this month: {big_amount} across 118 files, commission {pct}%.",
            "Agency batch {nine} was uploaded on {date_iso} at {time}.",
            "Reminder: the collection agency portal moved to a new address; the old server ({ip}) will be "
            "retired on {date_long}.",
        ),
    },
    "payroll": {
        "subjects": ("Payroll register - period ending {date_us}", "Timesheet reminder",
                     "Re: Direct deposit change", "Pay date change for {month}", "Payroll corrections"),
        "subjects_pos": ("SSN correction for {emp_id}", "Direct deposit update - routing {rtn}"),
        "pos": (
            "Please correct the SSN for employee {emp_id} ({name}): the record shows {ssn} instead of the number "
            "on the W-4.",
            "Direct deposit for {name}: {bank} routing number {rtn}, checking ending in {last4}.",
            "Social Security No.: {ssn_plain}",
            "Garnishment order {case_no}: employee SSN {ssn_plain}, withhold {pct}% of disposable earnings.",
            "The new ABA number is {rtn_dash} and takes effect with the {date_long} pay date.",
            "The employee's new routing no. is {rtn}; the old one was closed on {date_us}.",
            "The seasonal employee has no SSN; withholding uses ITIN {itin}.",
            "ITIN: {itin_plain}",
            "Please set up the payroll vendor {company} (FEIN {ein_plain}) for the garnishment remittance.",
        ),
        "clean": (
            "Payroll for the period ending {date_us} has been approved: gross {big_amount}, 412 employees.",
            "Reminder: timesheets are due by {time} on {date_long}.",
            "The pay file (batch {batch}) was transmitted at {time}; confirmation {guid}.",
            "Please send masked SSNs only, e.g. {masked_ssn}.",
            "Two numbers were rejected by the verification service as invalid: {bad_ssn} and {bad_ssn}.",
            "Overtime for {month} totaled {big_amount}, up {pct}% from last year.",
            "Check {check_no} for {amount} was voided and reissued on {date_us}.",
            "Export job {nine} finished with 0 errors.",
        ),
    },
    "w9": {
        "subjects": ("Vendor setup - {company}", "W-9 request", "Re: Updated remittance address",
                     "Invoice {invoice} status", "1099 vendor review"),
        "subjects_pos": ("W-9 for {company} (EIN {ein})", "Vendor {company} FEIN {ein_plain}"),
        "pos": (
            "Attached is our W-9. Our federal tax ID is {ein_plain}.",
            "Vendor: {company}, EIN {ein}, remit to {addr}.",
            "The sole proprietor's SSN is {ssn} per the signed form.",
            "Our EIN: {ein_plain}",
            "ITIN {itin_plain} (individual contractor, no SSN issued).",
            "Individual taxpayer: {name}, {itin}.",
            "ACH remittance: {bank}, ABA {rtn}.",
            "Employer Identification Number {ein} - please update the 1099 record.",
            "Payee {name} uses ITIN {itin} for the 1099-NEC.",
            "Corrected W-9: EIN {ein_plain}.",
            "Tax ID {ein_plain} for {company} was verified with the IRS today.",
        ),
        "clean": (
            "Vendor number {vendor_no} has been set up; please reference PO {po} on all invoices.",
            "The EIN you entered, {bad_ein}, failed IRS TIN matching; please send a corrected W-9.",
            "Invoice {invoice} for {amount} was received on {date_us} and is scheduled for the {date_long} "
            "check run.",
            "The ATIN {atin} you listed is for an adoption case and cannot be used on a W-9.",
            "The routing number on the ACH form ({bad_rtn}) does not pass the bank's check digit test; "
            "please confirm it.",
            "The number on line 5, {bad_ein_plain}, is not a valid EIN.",
            "Purchase order {po} was closed with a remaining balance of {amount}.",
            "Remit-to address updated to {addr}.",
        ),
    },
    "refund": {
        "subjects": ("Deposit refund processed", "Re: Refund status", "Overpayment refund - {month}",
                     "Closing bill credit", "Refund check {check_no}"),
        "subjects_pos": ("Refund to card {card}", "Refund for account {water}"),
        "pos": (
            "Please process a refund of {amount} to the customer's card {card}.",
            "Refund by ACH: routing {rtn}; checking ending {last4}.",
            "Closing bill credit for account no. {water}: {amount}.",
            "The customer paid twice with card {card} on {date_us}; reverse the second charge.",
            "Send the refund to the new address on file for acct {water}.",
            "Refund payee {company}, EIN {ein}, for the overpaid hydrant meter deposit.",
            "The refund is payable to an individual without an SSN; the form lists ITIN {itin}.",
        ),
        "edm": (
            "Deposit refunds approved today: {edm} {amount}; {edm} {amount}.",
            "Customer number {edm} is owed a deposit refund of {amount}.",
        ),
        "clean": (
            "Refund check #{check_no} for {amount} was mailed on {date_long} to {addr}.",
            "Credit memo {invoice} was applied; the reference number is {guid}.",
            "The refund came back as undeliverable (trace {trace}).",
            "Refunds under $5.00 are applied as a credit instead of being mailed.",
            "The card number on the refund form ({bad_card}) is not valid; please ask the customer to call "
            "{phone}.",
            "Gift card {bad_card} cannot be refunded to a utility bill.",
            "Order {nine} was refunded in full.",
        ),
    },
    "council": {
        "subjects": ("Agenda packet - regular meeting {date_us}", "Staff report: {project}",
                     "Re: Public comment for item {agenda_item}", "Budget amendment {resolution}",
                     "Council correspondence"),
        "subjects_pos": ("Resident complaint - SCE account {sce_cust}",),
        "pos": (
            "A resident ({name}, {phone}) asked about her Edison account {sce_cust}; please have staff follow up.",
            "The speaker card lists a callback number of {phone}.",
            "The resident attached a copy of her bill showing SCE customer account {sce_cust}.",
        ),
        "clean": (
            "The {date_long} regular meeting agenda is posted. Item {agenda_item}: Resolution No. {resolution} "
            "approving the {project} contract in the amount of {big_amount}.",
            "Ordinance No. {ordinance} (second reading) is scheduled for {date_us}.",
            "Remote attendance: meeting ID {zoom}, passcode {passcode}.",
            "Public comments received from 37 residents are in the clerk's log ({guid}).",
            "Staff report prepared by {staff}, {dept}, {phone}.",
            "Budget amendment: transfer of {big_amount} from fund {fund} to fund {fund}.",
            "The livestream encoder at {ip} will be restarted at {time} before the meeting.",
            "Litigation update: {case_no} was continued to {date_long}.",
            "The contract is Resolution No. {resolution}, adopted {date_iso}, not to exceed {big_amount}.",
        ),
    },
    "permit": {
        "subjects": ("Permit {permit} issued", "Inspection scheduled - {addr_short}", "Re: Plan check comments",
                     "Code enforcement case {case_no}", "Final inspection result"),
        "subjects_pos": ("Permit fee payment - card {card}",),
        "pos": (
            "Permit fees of {amount} were paid with card {card}; the receipt is attached.",
            "The contractor's federal tax ID is {ein_plain} per the business license application.",
            "The owner asked that the SCE service account {sce_svc} be released for the new meter.",
            "Contractor {company} ({ein}) is the applicant of record.",
            "Questions about the inspection can go to the owner at {phone}.",
            "Owner-builder {name} listed ITIN {itin} on the workers' compensation exemption.",
        ),
        "clean": (
            "Permit {permit} for {addr} (APN {apn}) has been issued. Inspection is scheduled for {date_long} "
            "between {time} and {time2}.",
            "Inspection result: {result}. Re-inspection fee {amount}, invoice {invoice}.",
            "Code enforcement case {case_no} remains open; the hearing is set for {date_us}.",
            "Contractor license #{license} expires on {date_iso}.",
            "Plan check comments are in the portal (submittal {guid}).",
            "Drawing reference {bad_sce} was superseded by revision C.",
            "Parcel {apn} is in flood zone AE; an elevation certificate is required.",
            "Please call the inspection request line at {phone} by {time} the day before.",
        ),
    },
    "service-request": {
        "subjects": ("Service start confirmation", "Stop service request - {addr_short}", "Re: Move-out date",
                     "New service application received", "Turn-on scheduled {date_us}"),
        "subjects_pos": ("Stop service - account {water}", "Transfer of SCE account {sce_cust}"),
        "pos": (
            "To start service at {addr} without a deposit, we need the applicant's Social Security number; "
            "the application lists {ssn}.",
            "Applicant: {name}, SSN: {ssn_plain}, phone {phone}.",
            "Stop service on account {water} effective {date_us}; the final read will be scheduled.",
            "The prior occupant's customer account {sce_cust} will be closed on {date_long}.",
            "The deposit was paid with card {card}.",
            "The applicant used an ITIN ({itin}) instead of an SSN for the credit check.",
            "Commercial service application: {company}, EIN {ein}, service at {addr}.",
            "For the deposit waiver the applicant gave SSN {ssn_plain}.",
        ),
        "edm": (
            "Transfer of service: old {edm}, new {edm}.",
            "Close {edm} after the final read on {date_us}.",
        ),
        "clean": (
            "Service start order {wo} is scheduled for {date_long}. A technician will arrive between {time} "
            "and {time2}.",
            "A deposit of {amount} is required for new service without credit history.",
            "Confirmation number: {nine}.",
            "The applicant's phone number on the form, {fict_phone}, is not in service; please confirm.",
            "Final bills are mailed within 10 days to {addr}.",
            "Meter {meter} will be locked until the new owner applies.",
            "Move-in date {date_us}; landlord contact {name} at {phone}.",
        ),
    },
    "payment-arrangement": {
        "subjects": ("Payment arrangement approved", "Re: Installment plan", "Arrangement {arr_id} reminder",
                     "Missed installment notice"),
        "subjects_pos": ("Payment plan for acct {water}",),
        "pos": (
            "Payment arrangement for acct {water}: 4 installments of {amount} starting {date_us}.",
            "First installment charged to card {card}, expiration {exp}.",
            "Autopay from {bank}, routing {rtn}, beginning {date_long}.",
            "Customer called from {phone} to confirm the plan.",
            "Business customer {company}, federal tax ID {ein_plain}, asked for a 6-month plan.",
            "Second installment: card {card}, authorized by {name}.",
            "{name} paid {amount} with {card} at the counter.",
        ),
        "edm": ("Arrangements approved this week: {edm} and {edm}.",),
        "clean": (
            "Arrangement {arr_id} was approved by {staff} on {date_long}.",
            "Schedule: {date_us} {amount}; {date_us} {amount}; {date_us} {amount}.",
            "The card number you provided ({bad_card}) was declined as invalid; please call {phone}.",
            "A missed installment cancels the arrangement and the full balance of {amount} becomes due.",
            "Plan terms are set by Resolution No. {resolution}.",
            "Reference {nine} is your confirmation.",
        ),
    },
    "hr-onboarding": {
        "subjects": ("Welcome to the {orgshort} team!", "New hire orientation {date_us}", "Re: Offer letter",
                     "Onboarding checklist", "Benefits enrollment reminder"),
        "subjects_pos": ("New hire paperwork - SSN {ssn}",),
        "pos": (
            "Welcome aboard! We have your Social Security number as {ssn}; please confirm it is correct.",
            "Emergency contact on file: {name}, {phone}.",
            "Direct deposit: {bank}, RTN {rtn}.",
            "ITIN (for the tax forms): {itin_plain}",
            "Your SSN # {ssn_plain} was entered in the HR system today.",
            "SS# {ssn_plain}",
            "Individual Taxpayer Identification Number: {itin}",
            "{name} ({ssn}) starts on {date_long} in {dept}.",
        ),
        "clean": (
            "Orientation is on {date_long} at {time} in Room 204. Bring two forms of ID.",
            "Your employee ID is {emp_id}; your badge request is {ticket}.",
            "Starting salary: {big_amount} annually, Step 3.",
            "Benefits enrollment closes {date_us}.",
            "Please complete the online forms (session {guid}) before your first day.",
            "Parking permit {permit} will be ready at the front desk.",
            "Questions about benefits? Call {phone_tf}.",
        ),
    },
    "it-notice": {
        "subjects": ("Scheduled maintenance {date_us}", "Ticket {ticket} resolved", "Security alert: blocked logins",
                     "Backup report", "Re: VPN access"),
        "subjects_pos": ("Test data in staging",),
        "pos": (
            "Test data in the staging database still contains a real-looking card number, {card}; please purge it.",
            "A scanned form on the shared drive shows SSN {ssn}; it has been moved to the restricted folder.",
        ),
        "clean": (
            "Scheduled maintenance for the billing system ({ip}) on {date_long} from {time} to {time2}.",
            "Ticket {ticket} was resolved; change request {guid}.",
            "Blocked login attempts from {ip} and {ip} between {time} and {time2}.",
            "Backup job {nine} completed: 18,442 files, {gb} GB.",
            "Please reboot before {time}; build {guid} must be installed.",
            "The old file server at {ip} will be retired on {date_iso}.",
            "Service desk: {phone}.",
        ),
    },
    "public-records": {
        "subjects": ("Public records request {pra_no}", "Re: Records production", "PRA {pra_no} - extension",
                     "Records request closed"),
        "subjects_pos": ("Unredacted SSN in production {pra_no}",),
        "pos": (
            "One record (page 14) was produced without redacting SSN {ssn}; please claw it back.",
            "The requester's phone number is {phone}.",
            "Page 14 shows {ssn} next to the applicant's name and must be withheld.",
        ),
        "clean": (
            "Request {pra_no} received {date_us}. Responsive records will be produced by {date_long}.",
            "The court's docket number is {case_no}; the copy was mailed under tracking {tracking}.",
            "Redactions were applied under Government Code 7922.000 (SSNs appear as {masked_ssn}).",
            "Fees: 212 pages at $0.10 per page, total {amount}.",
            "Records are available at the portal (request {guid}).",
            "Related cases: {case_no} and {case_no}.",
        ),
    },
    "cca-enrollment": {
        "subjects": ("{program} enrollment update", "Opt-out requests - {month}", "Rate schedule change",
                     "Re: CCA customer inquiry", "Program communication"),
        "subjects_pos": ("Opt-out request - SCE account {sce_cust}",),
        "pos": (
            "Opt-out request received for SCE customer account {sce_cust} (service account {sce_svc}).",
            "The customer asked us to re-enroll Edison account {sce_cust} in the {program} program.",
            "Please confirm the rate for service account {sce_svc} before the next bill.",
            "Customer called from {phone} about the opt-out fee.",
        ),
        "clean": (
            "236 customers enrolled in the {program} program this month; average savings {pct}%.",
            "Rate schedule TOU-D-4-9PM takes effect {date_long}.",
            "Generation charges for {month} were {big_amount} across 18,204 customers.",
            "Opt-out forms received by {date_us} are processed with the next meter read.",
            "The data file was delivered under transfer {guid}.",
            "Document {bad_sce} describes the enrollment process.",
            "For program questions call {phone_tf}.",
        ),
    },
}

# Tables for attachments and HTML bodies: a header and a template per column.  A
# column whose values need context gets it from the cell just before it, in every row.
TABLES: dict[str, dict[str, tuple[dict[str, object], ...]]] = {
    "billing-dispute": {
        "pos": (
            {"file": "sce-bill-review", "title": "SCE bill review",
             "header": ("Customer", "Utility", "Customer account", "Service account", "Amount"),
             "row": ("{name}", "SCE", "{sce_cust}", "{sce_svc}", "{amount}"), "rows": (1, 4)},
            {"file": "dispute-log", "title": "Dispute log",
             "header": ("Case", "Customer", "Account", "Opened", "Phone"),
             "row": ("{case_no}", "{name}", "Account {water}", "{date_us}", "{phone}"), "rows": (2, 5)},
        ),
        "clean": (
            {"file": "usage-history", "title": "Usage history",
             "header": ("Month", "Read date", "Meter reading", "Usage (CCF)", "Amount"),
             "row": ("{month}", "{date_us}", "{reading}", "{ccf}", "{amount}"), "rows": (3, 8)},
        ),
        "edm": (
            {"file": "misread-route-14", "title": "Route 14 misread",
             "header": ("Customer no.", "Name", "Corrected read", "Credit"),
             "row": ("{edm_or_acct10}", "{name}", "{reading}", "{amount}"), "rows": (3, 6)},
        ),
    },
    "collections": {
        "pos": (
            {"file": "agency-referrals", "title": "Agency referrals",
             "header": ("Debtor", "SSN", "Balance", "Days past due", "Phone"),
             "row": ("{name}", "{ssn}", "{amount}", "{days}", "{phone}"), "rows": (2, 6)},
            {"file": "credit-bureau", "title": "Credit bureau file",
             "header": ("SSN", "Debtor", "Balance"),
             "row": ("{ssn_num}", "{name}", "{amount}"), "rows": (1, 1)},
        ),
        "clean": (
            {"file": "aging-summary", "title": "Aging summary",
             "header": ("Bucket", "Count", "Balance", "Change"),
             "row": ("{bucket}", "{count}", "{big_amount}", "{pct}%"), "rows": (3, 5)},
            {"file": "payment-promises", "title": "Payment promises",
             "header": ("Customer", "Masked SSN", "Promise date", "Amount"),
             "row": ("{name}", "{masked_ssn}", "{date_us}", "{amount}"), "rows": (2, 6)},
        ),
        "edm": (
            {"file": "referral-batch", "title": "Referral batch",
             "header": ("Customer no.", "Name", "Balance", "Last payment"),
             "row": ("{edm_or_acct10}", "{name}", "{amount}", "{date_us}"), "rows": (3, 8)},
        ),
    },
    "payroll": {
        "pos": (
            {"file": "direct-deposit-changes", "title": "Direct deposit changes",
             "header": ("Employee", "SSN", "Bank", "Routing", "Effective"),
             "row": ("{name}", "{ssn}", "{bank}", "{rtn_dash}", "{date_us}"), "rows": (1, 4)},
            {"file": "ssn-correction", "title": "SSN correction",
             "header": ("SSN", "Employee", "Dept"),
             "row": ("{ssn_num}", "{name}", "{dept_code}"), "rows": (1, 1)},
            {"file": "payroll-register", "title": "Payroll register",
             "header": ("Emp ID", "Name", "SSN", "Gross", "Net"),
             "row": ("{emp_id}", "{name}", "{ssn}", "{amount}", "{amount}"), "rows": (3, 8)},
        ),
        "clean": (
            {"file": "hours-summary", "title": "Hours summary",
             "header": ("Emp ID", "Name", "Regular", "Overtime", "Pay date"),
             "row": ("{emp_id}", "{name}", "{hours}", "{hours}", "{date_iso}"), "rows": (4, 10)},
            {"file": "ssn-exceptions", "title": "Rejected numbers",
             "header": ("Emp ID", "Submitted", "Reason"),
             "row": ("{emp_id}", "{bad_ssn}", "invalid per SSA rules"), "rows": (2, 5)},
        ),
    },
    "w9": {
        "pos": (
            {"file": "vendor-tins", "title": "Vendor TIN list",
             "header": ("Vendor", "Type", "Number", "Phone"),
             "row": ("{company}", "EIN", "{ein}", "{phone}"), "rows": (2, 6)},
            {"file": "contractor-1099", "title": "1099 contractors",
             "header": ("Payee", "Identifier", "Amount paid"),
             "row": ("{name}", "{ssn_or_itin}", "{amount}"), "rows": (2, 5)},
            {"file": "vendor-fein", "title": "Vendor FEIN",
             "header": ("Vendor", "Label", "Value"),
             "row": ("{company}", "FEIN", "{ein_plain}"), "rows": (1, 4)},
            {"file": "itin-payees", "title": "ITIN payees",
             "header": ("Payee", "ITIN", "Amount"),
             "row": ("{name}", "{itin}", "{amount}"), "rows": (2, 5)},
            {"file": "payee-check", "title": "Payee identifier check",
             "header": ("Payee", "Kind", "Number", "Status"),
             "row": ("{name}", "ITIN", "{itin_plain}", "verified"), "rows": (1, 3)},
        ),
        "clean": (
            {"file": "open-invoices", "title": "Open invoices",
             "header": ("Vendor no.", "Invoice", "PO", "Amount", "Due"),
             "row": ("{vendor_no}", "{invoice}", "{po}", "{amount}", "{date_us}"), "rows": (3, 8)},
            {"file": "tin-mismatches", "title": "TIN mismatches",
             "header": ("Vendor", "Submitted EIN", "Result"),
             "row": ("{company}", "{bad_ein}", "prefix not assigned"), "rows": (2, 4)},
        ),
    },
    "refund": {
        "pos": (
            {"file": "card-refunds", "title": "Card refunds",
             "header": ("Customer", "Card", "Amount", "Date"),
             "row": ("{name}", "{card}", "{amount}", "{date_us}"), "rows": (2, 6)},
            {"file": "ach-refunds", "title": "ACH refunds",
             "header": ("Customer", "Bank", "Routing", "Amount"),
             "row": ("{name}", "{bank}", "{rtn}", "{amount}"), "rows": (1, 4)},
        ),
        "clean": (
            {"file": "refund-checks", "title": "Refund checks",
             "header": ("Check", "Payee", "Amount", "Mailed"),
             "row": ("{check_no}", "{name}", "{amount}", "{date_us}"), "rows": (3, 8)},
        ),
        "edm": (
            {"file": "deposit-refunds", "title": "Deposit refunds",
             "header": ("Customer no.", "Name", "Refund"),
             "row": ("{edm_or_acct10}", "{name}", "{amount}"), "rows": (3, 6)},
        ),
    },
    "council": {
        "pos": (
            {"file": "resident-callbacks", "title": "Resident callbacks",
             "header": ("Resident", "Phone", "Topic"),
             "row": ("{name}", "{phone}", "{project}"), "rows": (2, 5)},
        ),
        "clean": (
            {"file": "budget-transfers", "title": "Budget transfers",
             "header": ("From fund", "To fund", "Amount", "Resolution"),
             "row": ("{fund}", "{fund}", "{big_amount}", "{resolution}"), "rows": (2, 6)},
            {"file": "agenda-items", "title": "Agenda items",
             "header": ("Item", "Title", "Date", "Reference"),
             "row": ("{agenda_item}", "{project}", "{date_long}", "{case_no}"), "rows": (3, 7)},
        ),
    },
    "permit": {
        "pos": (
            {"file": "permit-payments", "title": "Permit fee payments",
             "header": ("Permit", "Payer", "Card", "Amount"),
             "row": ("{permit}", "{name}", "{card}", "{amount}"), "rows": (1, 4)},
            {"file": "contractors", "title": "Contractors of record",
             "header": ("Contractor", "License", "EIN", "Phone"),
             "row": ("{company}", "{license}", "{ein}", "{phone}"), "rows": (1, 4)},
        ),
        "clean": (
            {"file": "inspections", "title": "Inspection schedule",
             "header": ("Permit", "APN", "Address", "Date", "Result"),
             "row": ("{permit}", "{apn}", "{addr}", "{date_iso}", "{result}"), "rows": (3, 8)},
            {"file": "meter-routes", "title": "Meter route stops",
             "header": ("Route", "Stop", "Reading"),
             "row": ("{small3}", "{small2}", "{small4}"), "rows": (3, 6)},
        ),
    },
    "service-request": {
        "pos": (
            {"file": "service-transfers", "title": "Service transfers",
             "header": ("Customer", "Utility", "Customer account", "Move date"),
             "row": ("{name}", "SCE", "{sce_cust}", "{date_us}"), "rows": (1, 5)},
            {"file": "applicants", "title": "Applicants",
             "header": ("Applicant", "SSN", "Phone", "Start date"),
             "row": ("{name}", "{ssn}", "{phone}", "{date_us}"), "rows": (1, 5)},
        ),
        "clean": (
            {"file": "service-orders", "title": "Service orders",
             "header": ("Order", "Address", "Scheduled", "Crew"),
             "row": ("{wo}", "{addr}", "{date_iso}", "{crew}"), "rows": (3, 8)},
        ),
        "edm": (
            {"file": "closures", "title": "Closures",
             "header": ("Customer no.", "Final read", "Close date"),
             "row": ("{edm_or_acct10}", "{reading}", "{date_us}"), "rows": (3, 6)},
        ),
    },
    "payment-arrangement": {
        "pos": (
            {"file": "autopay-setup", "title": "Autopay setup",
             "header": ("Customer", "Bank", "Routing", "Start"),
             "row": ("{name}", "{bank}", "{rtn_dash}", "{date_us}"), "rows": (1, 4)},
            {"file": "installments", "title": "Installments",
             "header": ("Customer", "Card", "Installment", "Date"),
             "row": ("{name}", "{card}", "{amount}", "{date_us}"), "rows": (1, 4)},
        ),
        "clean": (
            {"file": "arrangement-schedule", "title": "Arrangement schedule",
             "header": ("Arrangement", "Due date", "Amount", "Status"),
             "row": ("{arr_id}", "{date_us}", "{amount}", "{status}"), "rows": (3, 8)},
        ),
        "edm": (
            {"file": "arrangements", "title": "Arrangements",
             "header": ("Customer no.", "Balance", "Installments"),
             "row": ("{edm_or_acct10}", "{amount}", "{count}"), "rows": (2, 5)},
        ),
    },
    "hr-onboarding": {
        "pos": (
            {"file": "new-hires", "title": "New hires",
             "header": ("Name", "SSN", "Start date", "Emergency phone"),
             "row": ("{name}", "{ssn}", "{date_us}", "{phone}"), "rows": (1, 5)},
            {"file": "new-hire-ssn", "title": "New hire",
             "header": ("SSN", "Name", "Dept"),
             "row": ("{ssn_num}", "{name}", "{dept_code}"), "rows": (1, 1)},
            {"file": "withholding-itin", "title": "Withholding setup",
             "header": ("Name", "ITIN", "Allowances"),
             "row": ("{name}", "{itin}", "{count}"), "rows": (1, 3)},
        ),
        "clean": (
            {"file": "orientation", "title": "Orientation roster",
             "header": ("Emp ID", "Name", "Department", "Badge request"),
             "row": ("{emp_id}", "{name}", "{dept_code}", "{ticket}"), "rows": (3, 8)},
        ),
    },
    "it-notice": {
        "pos": (
            {"file": "staging-findings", "title": "Staging data findings",
             "header": ("Table", "Column", "Sample value"),
             "row": ("{db_table}", "card_no", "{card}"), "rows": (1, 3)},
        ),
        "clean": (
            {"file": "blocked-ips", "title": "Blocked addresses",
             "header": ("Address", "Attempts", "First seen", "Session"),
             "row": ("{ip}", "{count}", "{date_iso}", "{guid}"), "rows": (3, 8)},
        ),
    },
    "public-records": {
        "pos": (
            {"file": "redaction-misses", "title": "Redaction misses",
             "header": ("Page", "Item", "Value"),
             "row": ("{count}", "SSN", "{ssn}"), "rows": (1, 3)},
        ),
        "clean": (
            {"file": "request-log", "title": "Request log",
             "header": ("Request", "Received", "Case", "Pages", "Fee"),
             "row": ("{pra_no}", "{date_us}", "{case_no}", "{count}", "{amount}"), "rows": (3, 8)},
        ),
    },
    "cca-enrollment": {
        "pos": (
            {"file": "opt-outs", "title": "Opt-out requests",
             "header": ("Customer", "Utility", "Customer account", "Service account", "Phone"),
             "row": ("{name}", "SCE", "{sce_cust}", "{sce_svc}", "{phone}"), "rows": (2, 6)},
        ),
        "clean": (
            {"file": "enrollment-summary", "title": "Enrollment summary",
             "header": ("Program", "Customers", "kWh", "Savings"),
             "row": ("{program}", "{count}", "{kwh}", "{pct}%"), "rows": (3, 6)},
        ),
    },
}

# Tables whose adjacent numeric cells would form a valid SSN or card if a detector merged
# the cells into one number ("digits split by table cells must not merge", DETECTION.md).
TRAP_TABLES = (
    {"file": "meter-route-stops", "title": "Meter route stops",
     "header": ("Route", "Stop", "Reading"),
     "row": ("{small3}", "{small2}", "{small4}"), "rows": (3, 6)},
    {"file": "quarterly-usage", "title": "Quarterly usage (kWh)",
     "header": ("Q1", "Q2", "Q3", "Q4"),
     "row": ("{card_cells}",), "rows": (2, 4)},
)

COVER_NOTES = (
    "Please see the attached {doc}.",
    "Attached is the {doc} we discussed.",
    "The {doc} is attached for your review.",
    "Sending the {doc} as requested; let me know if anything is missing.",
    "Here is the {doc} for this week.",
)
FORWARD_NOTES = (
    "Forwarding the message below for follow-up.",
    "See the customer's email below - can you take this one?",
    "FYI, forwarding for your records.",
    "Please review the attached message and reply to the customer directly.",
)
HTML_SPLIT_TAGS = (("<b>", "</b>"), ("<span>", "</span>"), ("<strong>", "</strong>"), ("<i>", "</i>"),
                   ('<font color="#1f3864">', "</font>"), ('<span style="font-weight:bold">', "</span>"))
